// beacon-height asks the beacon node on the container's loopback for its head slot
// (GET /eth/v1/node/syncing, the standard Beacon API) and prints it. Exit 1 when it does not answer.
// beacon-chain has no client of its own and the run image has no shell, curl or wget.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	client := http.Client{Timeout: 8 * time.Second}
	res, err := client.Get("http://127.0.0.1:3500/eth/v1/node/syncing")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer res.Body.Close()
	var body struct {
		Data struct {
			HeadSlot  string `json:"head_slot"`
			IsSyncing bool   `json:"is_syncing"`
			ElOffline bool   `json:"el_offline"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK || body.Data.HeadSlot == "" {
		fmt.Fprintf(os.Stderr, "beacon API: HTTP %d %v\n", res.StatusCode, err)
		os.Exit(1)
	}
	// Syncing and a missing execution client are states, not failures: said on stderr (Docker keeps it
	// in the health log); stdout is the bare slot, which `cybernode status` reads as the height.
	fmt.Fprintf(os.Stderr, "syncing=%t el_offline=%t\n", body.Data.IsSyncing, body.Data.ElOffline)
	fmt.Println(body.Data.HeadSlot)
}
