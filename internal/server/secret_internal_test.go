package server

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestSecretCreatedOnceByConcurrentStarts: replicas that share a data
// directory and start together on a fresh one (a first deployment) must
// all use the one pseudonym key the file ends up holding; otherwise a
// subscriber's pseudonyms (the ID token's sub, the rate limits' key)
// differ from replica to replica, and change when one restarts.
func TestSecretCreatedOnceByConcurrentStarts(t *testing.T) {
	for range 50 {
		path := filepath.Join(t.TempDir(), "pseudonym.key")
		const replicas = 4
		keys := make([][]byte, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() { keys[i], errs[i] = loadOrCreateSecret(path) })
		}
		wg.Wait()
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range replicas {
			if errs[i] != nil {
				t.Fatalf("replica %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], onDisk) {
				t.Fatalf("replica %d uses a key other than the file's", i)
			}
		}
	}
}
