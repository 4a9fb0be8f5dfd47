package bgcopy_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The loopback test server shared by every test (bgcopy-testserver serve on 127.0.0.1).
var srv *testServer

type testServer struct {
	bin     string
	cmd     *exec.Cmd
	base    string
	rootDir string
	exited  chan error
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func targetDir() string {
	if d := os.Getenv("CARGO_TARGET_DIR"); d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(repoRoot(), d)
	}
	return filepath.Join(repoRoot(), "target")
}

// testServerBinary is $BGCOPY_TESTSERVER, else the one in the cargo target directory, else one
// built now with cargo.
func testServerBinary() (string, error) {
	if b := os.Getenv("BGCOPY_TESTSERVER"); b != "" {
		return b, nil
	}
	for _, profile := range []string{"release", "debug"} {
		p := filepath.Join(targetDir(), profile, "bgcopy-testserver")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	jobs := os.Getenv("BGCOPY_JOBS")
	if jobs == "" {
		jobs = "2"
	}
	cmd := exec.Command("cargo", "build", "--release", "-p", "bgcopy-testserver", "-j"+jobs)
	cmd.Dir = repoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cargo build -p bgcopy-testserver: %w", err)
	}
	return filepath.Join(targetDir(), "release", "bgcopy-testserver"), nil
}

func startTestServer(dir string) (*testServer, error) {
	bin, err := testServerBinary()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	portFile := filepath.Join(dir, "port")
	cmd := exec.Command(bin, "serve", "--port-file", portFile, "--root-dir", root, "--lifetime", "3600")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(portFile)
		if err == nil && len(bytes.TrimSpace(data)) > 0 {
			port, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				cmd.Process.Kill()
				return nil, fmt.Errorf("bad port file: %q", data)
			}
			return &testServer{bin: bin, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), rootDir: root, exited: exited}, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("bgcopy-testserver exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return nil, fmt.Errorf("bgcopy-testserver wrote no port file within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *testServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *testServer) url(path string) string { return s.base + path }

type pathStats struct {
	Requests int      `json:"requests"`
	Ranges   []string `json:"ranges"`
	Statuses []int    `json:"statuses"`
}

func (s *testServer) stats(t *testing.T, path string) pathStats {
	t.Helper()
	resp, err := http.Get(s.base + "/__stats?path=" + path)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	var st pathStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("stats: %v", err)
	}
	return st
}

// content is what GET /data/<size>?seed=S&version=V serves (testserver/README.md).
func content(size int, seed, version uint64) []byte {
	splitmix := func(x uint64) uint64 {
		z := x + 0x9E3779B97F4A7C15
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	key := splitmix(seed ^ splitmix(version))
	out := make([]byte, size+8)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(out[i:], splitmix(uint64(i>>3)^key))
	}
	return out[:size]
}

func assertContent(t *testing.T, file string, size int, seed uint64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	if len(data) != size {
		t.Fatalf("%s: %d bytes, want %d", file, len(data), size)
	}
	if !bytes.Equal(data, content(size, seed, 0)) {
		t.Fatalf("%s: content differs from the server's", file)
	}
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bgcopy-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err = startTestServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	srv.stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestContentGeneratorMatchesTheServer(t *testing.T) {
	out, err := exec.Command(srv.bin, "gen", "--size", "100003", "--seed", "5").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, content(100003, 5, 0)) {
		t.Fatal("the Go content generator disagrees with bgcopy-testserver gen")
	}
}
