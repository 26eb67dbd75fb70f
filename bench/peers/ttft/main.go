// Command ttft measures time to first token of OpenAI-style streaming chat
// completions: `-concurrency` streams at a time for `-duration`, each a POST
// whose first "data:" line is the first token. Prints one JSON object:
// streams, errors, and TTFT percentiles in milliseconds.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ",") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "the chat completions URL")
	bodyFile := flag.String("body", "", "file with the request body (stream: true)")
	concurrency := flag.Int("concurrency", 100, "streams at a time")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	var extra headers
	flag.Var(&extra, "header", "Name: value (repeatable)")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: *concurrency, MaxConnsPerHost: *concurrency}}
	var mu sync.Mutex
	var ttfts []float64
	errors := 0
	end := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				ttft, err := stream(client, *url, body, extra)
				mu.Lock()
				if err != nil {
					errors++
				} else {
					ttfts = append(ttfts, ttft)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Float64s(ttfts)
	at := func(q float64) float64 {
		if len(ttfts) == 0 {
			return 0
		}
		return ttfts[int(q*float64(len(ttfts)-1))]
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"streams": len(ttfts), "errors": errors,
		"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99)})
}

// stream sends one request and returns the time to its first data line; it
// reads the rest so the connection is reused.
func stream(client *http.Client, url string, body []byte, extra headers) (float64, error) {
	request, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	request.Header.Set("Content-Type", "application/json")
	for _, h := range extra {
		name, value, _ := strings.Cut(h, ":")
		request.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	start := time.Now()
	response, err := client.Do(request)
	if err != nil {
		return 0, err
	}
	defer response.Body.Close()
	if response.StatusCode != 200 {
		io.Copy(io.Discard, response.Body)
		return 0, fmt.Errorf("HTTP %d", response.StatusCode)
	}
	reader := bufio.NewReader(response.Body)
	for {
		line, err := reader.ReadString('\n')
		if strings.HasPrefix(line, "data:") {
			ttft := float64(time.Since(start).Microseconds()) / 1000
			io.Copy(io.Discard, reader)
			return ttft, nil
		}
		if err != nil {
			return 0, fmt.Errorf("no data line: %v", err)
		}
	}
}
