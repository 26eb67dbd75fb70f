// Command models lists a gateway's models, over TLS or mTLS and with an API
// key when asked: the connection options every Voxgate program shares.
//
//	go run ./examples/models -address gw:50051 -ca ca.pem -cert me.pem -key me.key
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	voxgate "github.com/voxgate/voxgate/client/go"
)

func main() {
	address := flag.String("address", "localhost:50051", "the gateway, host:port")
	ca := flag.String("ca", "", "PEM CA of the gateway's certificate (TLS)")
	cert := flag.String("cert", "", "PEM client certificate (mTLS)")
	key := flag.String("key", "", "PEM client key (mTLS)")
	apiKey := flag.String("api-key", os.Getenv("VOXGATE_API_KEY"), "API key")
	flag.Parse()
	opts := []voxgate.Option{voxgate.WithAPIKey(*apiKey)}
	if *ca != "" || *cert != "" {
		opts = append(opts, voxgate.WithTLS(voxgate.TLSFiles{CAFile: *ca, CertFile: *cert, KeyFile: *key}))
	}
	client, err := voxgate.New(*address, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	models, err := client.ListModels(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, model := range models {
		fmt.Println(model.GetId())
	}
}
