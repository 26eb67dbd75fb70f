// Command transcribe sends an audio file to a Voxgate gateway and prints the
// transcript, then asks the text model for a one-line summary.
//
//	go run ./examples/transcribe -address localhost:50051 meeting.mp3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	voxgate "github.com/voxgate/voxgate/client/go"
	"github.com/voxgate/voxgate/client/go/voxgatev1"
)

func main() {
	address := flag.String("address", "localhost:50051", "the gateway, host:port")
	summarise := flag.Bool("summarise", false, "also ask the text model for a summary")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: transcribe [-address host:port] [-summarise] FILE")
	}
	audio, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	client, err := voxgate.New(*address, voxgate.WithTimeout(5*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	transcript, err := client.Transcribe(ctx, audio)
	if errors.Is(err, voxgate.ErrInvalidRequest) {
		log.Fatalf("the gateway refused the audio: %v", err)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(transcript.Text)
	if !*summarise {
		return
	}
	for delta, err := range client.ChatStream(ctx, []*voxgatev1.ChatMessage{
		voxgate.System("Summarise in one line."), voxgate.User(transcript.Text)}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(delta)
	}
	fmt.Println()
}
