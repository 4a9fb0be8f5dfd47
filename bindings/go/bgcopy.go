// Package bgcopy is the Go binding of libbgcopy: Windows BITS download jobs (HTTP(S) through
// libcurl, file:// copies) as a portable library, over cgo.
//
//	m, err := bgcopy.Open(bgcopy.Memory) // or "" for the per-user state directory
//	if err != nil { ... }
//	defer m.Close()
//	job, err := m.CreateJob("nightly update")
//	defer job.Close() // releases the handle; never cancels the job
//	job.AddFile("https://example.org/pkg.tar", "/var/tmp/pkg.tar")
//	job.Resume()
//	state, err := job.Wait(ctx) // honours ctx cancellation
//	if state == bgcopy.StateTransferred {
//		_, err = job.Complete()
//	} else if jerr, _ := job.JobError(); jerr != nil {
//		// errors.Is(jerr, bgcopy.ErrHTTP), jerr.HTTPStatus() == 404, ...
//	}
//
// # Building
//
// The package needs include/bgcopy.h and libbgcopy. Either point cgo at a checkout:
//
//	export CGO_CFLAGS="-I$REPO/include"
//	export CGO_LDFLAGS="-L$REPO/target/release -lbgcopy -Wl,-rpath,$REPO/target/release"
//
// or install the library (cmake --install) and build with -tags bgcopy_pkgconfig, which takes
// the flags from `pkg-config bgcopy`. Without either, the header and library must be on the
// compiler's default paths (e.g. /usr/local after cmake --install).
//
// # Errors
//
// Every failing call returns an *Error carrying the library's HRESULT; compare with errors.Is
// against the exported sentinels (ErrInvalidState, ErrNotFound, ErrHTTP, ...). A job's own
// error (ERROR / TRANSIENT_ERROR state) is read with Job.JobError and also works with errors.Is.
//
// # Handles, threads and memory
//
// A Manager and its Jobs may be used from any number of goroutines. Close releases a handle
// (idempotent); a finalizer does the same for objects that were never closed, and is a no-op
// after Close. The C library never keeps a pointer to Go memory: strings are copied into C
// memory for the call, and out-parameters only live for the call.
package bgcopy

/*
#cgo LDFLAGS: -lbgcopy
#include <stdlib.h>
#include <bgcopy.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Memory is the state directory of a manager that persists nothing.
const Memory = ":memory:"

// SizeUnknown is BG_SIZE_UNKNOWN: a size not known yet.
const SizeUnknown = ^uint64(0)

// HResult is a bgcopy return code (BITS' HRESULT numbers; negative means failure).
type HResult int32

// Succeeded reports BG_SUCCEEDED(h): S_OK, S_FALSE and the BG_S_* codes.
func (h HResult) Succeeded() bool { return h >= 0 }

// Failed reports BG_FAILED(h).
func (h HResult) Failed() bool { return h < 0 }

// Message is the library's English text for the code (bg_hresult_message).
func (h HResult) Message() string { return C.GoString(C.bg_hresult_message(C.bg_hresult(h))) }

// Name is the header's symbolic name of the code ("BG_E_NOT_FOUND"), or "" when unknown.
func (h HResult) Name() string { return hresultNames[h] }

// Hex is the code as BITS writes it, "0x80200001".
func (h HResult) Hex() string { return fmt.Sprintf("0x%08X", uint32(h)) }

// String is "0x80200001 BG_E_NOT_FOUND".
func (h HResult) String() string {
	if n := h.Name(); n != "" {
		return h.Hex() + " " + n
	}
	return h.Hex()
}

// HTTPStatus is the HTTP status of a BG_E_HTTP_ERROR_xxx code (0x801900xx), else 0.
func (h HResult) HTTPStatus() int {
	s := int64(uint32(h)) - 0x80190000
	if s >= 100 && s <= 999 {
		return int(s)
	}
	return 0
}

// Error is a failed bgcopy call (or a job's error, see JobError).
type Error struct {
	Code   HResult // the failure code
	Op     string  // the C function that failed, e.g. "bg_job_resume" ("" for sentinels)
	Detail string  // extra text, e.g. a job error's description
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bgcopy: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Code.String())
	b.WriteString(": ")
	b.WriteString(e.Code.Message())
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// Message is the library's text for the code.
func (e *Error) Message() string { return e.Code.Message() }

// HTTPStatus is the HTTP status when the code is BG_E_HTTP_ERROR_xxx, else 0.
func (e *Error) HTTPStatus() int { return e.Code.HTTPStatus() }

// Is makes errors.Is(err, bgcopy.ErrInvalidState) compare codes; ErrHTTP matches any HTTP status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t == ErrHTTP {
		return e.HTTPStatus() != 0
	}
	return t.Code == e.Code
}

// Sentinels for errors.Is. Any *Error with the same code matches.
var (
	ErrInvalidState   = &Error{Code: BG_E_INVALID_STATE} // not allowed in the job's state
	ErrNotFound       = &Error{Code: BG_E_NOT_FOUND}     // no such job, or it has ended
	ErrInvalidArg     = &Error{Code: E_INVALIDARG}       // bad argument (path, URL, value)
	ErrInvalidHandle  = &Error{Code: E_HANDLE}           // closed, released or stale handle
	ErrEmpty          = &Error{Code: BG_E_EMPTY}         // the job has no files
	ErrStringTooLong  = &Error{Code: BG_E_STRING_TOO_LONG}
	ErrNotImplemented = &Error{Code: E_NOTIMPL} // unsupported value or job type
	ErrStateDir       = &Error{Code: BG_E_STATE_DIR_INVALID}
	// ErrHTTP matches every BG_E_HTTP_ERROR_xxx code; HTTPStatus tells which.
	ErrHTTP = &Error{Code: HResult(-0x7FE70000), Detail: "any HTTP status"} // 0x80190000
)

// check turns a failure code into an *Error; success codes give nil.
func check(op string, hr C.bg_hresult) error {
	if hr < 0 {
		return &Error{Code: HResult(hr), Op: op}
	}
	return nil
}

// Version is the native library's version (bg_version), e.g. "0.1.0".
func Version() string { return C.GoString(C.bg_version()) }

// GUID is a job's persistent identifier (16 bytes, RFC 4122 byte order).
type GUID [16]byte

// String is "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (bg_guid_to_string).
func (g GUID) String() string {
	cg := g.c()
	var buf [40]C.char
	var needed C.size_t
	if hr := C.bg_guid_to_string(&cg, &buf[0], C.size_t(len(buf)), &needed); hr < 0 {
		return fmt.Sprintf("%x", [16]byte(g)) // cannot happen with a 40-byte buffer
	}
	return C.GoString(&buf[0])
}

func (g GUID) c() C.struct_bg_guid {
	var cg C.struct_bg_guid
	for i := range g {
		cg.bytes[i] = C.uint8_t(g[i])
	}
	return cg
}

func guidFromC(cg *C.struct_bg_guid) GUID {
	var g GUID
	for i := range g {
		g[i] = byte(cg.bytes[i])
	}
	return g
}

// ParseGUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case, optionally in braces).
func ParseGUID(s string) (GUID, error) {
	cs, err := cString("bg_guid_from_string", s)
	if err != nil {
		return GUID{}, err
	}
	defer C.free(unsafe.Pointer(cs))
	var cg C.struct_bg_guid
	if err := check("bg_guid_from_string", C.bg_guid_from_string(cs, &cg)); err != nil {
		return GUID{}, err
	}
	return guidFromC(&cg), nil
}

// cString copies s into C memory (free it with C.free); a NUL inside s is E_INVALIDARG, as C
// would silently cut the string there.
func cString(op, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: E_INVALIDARG, Op: op, Detail: "string contains a NUL byte"}
	}
	return C.CString(s), nil
}

// readString calls a getter with the (buf, cap, out_needed) convention, growing the buffer.
// The buffer is Go memory passed for the duration of the call only.
func readString(op string, call func(buf *C.char, capacity C.size_t, needed *C.size_t) C.bg_hresult) (string, HResult, error) {
	size := 256
	for {
		buf := make([]byte, size)
		var needed C.size_t
		hr := call((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(size), &needed)
		if HResult(hr) == BG_E_INSUFFICIENT_BUFFER && int(needed) > size {
			size = int(needed)
			continue
		}
		if err := check(op, hr); err != nil {
			return "", HResult(hr), err
		}
		n := 0
		for n < len(buf) && buf[n] != 0 {
			n++
		}
		return string(buf[:n]), HResult(hr), nil
	}
}
