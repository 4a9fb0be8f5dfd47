// The README's Go example: copy a file through a bgcopy job and check it.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bgcopy "github.com/bgcopy/bgcopy-go"
)

func main() {
	work, _ := os.MkdirTemp("", "bgcopy-readme-")
	src, dst := filepath.Join(work, "source.bin"), filepath.Join(work, "copy.bin")
	data := make([]byte, 4<<20)
	rand.Read(data)
	os.WriteFile(src, data, 0o600)

	m, err := bgcopy.Open(filepath.Join(work, "state")) // a state directory of its own
	if err != nil {
		panic(err)
	}
	defer m.Close()
	job, err := m.CreateJob("readme")
	if err != nil {
		panic(err)
	}
	defer job.Close()                                       // releases the handle; never cancels the job
	if err := job.AddFile("file://"+src, dst); err != nil { // http(s):// works the same way
		panic(err)
	}
	job.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state, err := job.Wait(ctx)
	fmt.Println("state:", state, err)
	if state == bgcopy.StateTransferred {
		result, err := job.Complete()
		fmt.Println("complete:", result, err)
	}
	got, _ := os.ReadFile(dst)
	fmt.Println("identical:", bytes.Equal(got, data))
}
