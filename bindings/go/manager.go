package bgcopy

/*
#include <stdlib.h>
#include <bgcopy.h>
*/
import "C"

import (
	"path/filepath"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Manager is an open job queue of a state directory (bg_manager). It is safe for concurrent use.
type Manager struct {
	h        atomic.Uint64
	stateDir string
}

// Open opens the job queue of stateDir: "" for the per-user default directory, Memory for a
// queue that persists nothing, or a directory (made absolute; created if missing).
func Open(stateDir string) (*Manager, error) {
	var cdir *C.char
	dir := stateDir
	if dir != "" {
		if dir != Memory && !filepath.IsAbs(dir) {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return nil, &Error{Code: E_INVALIDARG, Op: "bg_manager_open", Detail: err.Error()}
			}
			dir = abs
		}
		var err error
		if cdir, err = cString("bg_manager_open", dir); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(cdir))
	}
	var h C.bg_manager
	if err := check("bg_manager_open", C.bg_manager_open(cdir, &h)); err != nil {
		return nil, err
	}
	m := &Manager{stateDir: dir}
	m.h.Store(uint64(h))
	runtime.SetFinalizer(m, (*Manager).finalize)
	return m, nil
}

func (m *Manager) finalize() {
	if h := m.h.Swap(0); h != 0 {
		C.bg_manager_close(C.bg_manager(h))
	}
}

// StateDir is the directory given to Open (absolute), "" for the per-user default.
func (m *Manager) StateDir() string { return m.stateDir }

// Handle is the raw bg_manager handle (0 once closed).
func (m *Manager) Handle() uint64 { return m.h.Load() }

// Close closes the manager: its transfers stop cleanly and the handles of its jobs become
// invalid (the jobs themselves are not cancelled). Idempotent: later calls return nil.
func (m *Manager) Close() error {
	h := m.h.Swap(0)
	if h == 0 {
		return nil
	}
	runtime.SetFinalizer(m, nil)
	return check("bg_manager_close", C.bg_manager_close(C.bg_manager(h)))
}

// handle returns the live handle, or an ErrInvalidHandle error once closed.
func (m *Manager) handle(op string) (C.bg_manager, error) {
	h := m.h.Load()
	if h == 0 {
		return 0, &Error{Code: E_HANDLE, Op: op, Detail: "manager is closed"}
	}
	return C.bg_manager(h), nil
}

// CreateJob creates a download job (SUSPENDED, without files).
func (m *Manager) CreateJob(displayName string) (*Job, error) {
	return m.CreateJobOfType(displayName, JobTypeDownload)
}

// CreateJobOfType creates a job of the given type (upload types return ErrNotImplemented).
func (m *Manager) CreateJobOfType(displayName string, t JobType) (*Job, error) {
	const op = "bg_manager_create_job"
	h, err := m.handle(op)
	if err != nil {
		return nil, err
	}
	cname, err := cString(op, displayName)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	var id C.struct_bg_guid
	var jh C.bg_job
	if err := check(op, C.bg_manager_create_job(h, cname, C.bg_job_type(t), &id, &jh)); err != nil {
		return nil, err
	}
	runtime.KeepAlive(m)
	return newJob(m, jh, guidFromC(&id)), nil
}

// GetJob finds a job by GUID; ErrNotFound when there is none or it has ended.
func (m *Manager) GetJob(id GUID) (*Job, error) {
	const op = "bg_manager_get_job"
	h, err := m.handle(op)
	if err != nil {
		return nil, err
	}
	cg := id.c()
	var jh C.bg_job
	if err := check(op, C.bg_manager_get_job(h, &cg, &jh)); err != nil {
		return nil, err
	}
	runtime.KeepAlive(m)
	return newJob(m, jh, id), nil
}

// JobIDs is a snapshot of the GUIDs of the jobs not yet ended, oldest first.
func (m *Manager) JobIDs() ([]GUID, error) {
	const op = "bg_manager_enum_jobs"
	h, err := m.handle(op)
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(m)
	var count C.size_t
	if hr := C.bg_manager_enum_jobs(h, 0, nil, 0, &count); HResult(hr) != BG_E_INSUFFICIENT_BUFFER {
		if err := check(op, hr); err != nil {
			return nil, err
		}
	}
	for {
		capacity := int(count) + 8 // room for jobs created meanwhile
		ids := make([]C.struct_bg_guid, capacity)
		hr := C.bg_manager_enum_jobs(h, 0, &ids[0], C.size_t(capacity), &count)
		if HResult(hr) == BG_E_INSUFFICIENT_BUFFER {
			continue
		}
		if err := check(op, hr); err != nil {
			return nil, err
		}
		out := make([]GUID, int(count))
		for i := range out {
			out[i] = guidFromC(&ids[i])
		}
		return out, nil
	}
}

// Jobs opens a Job for every job not yet ended, oldest first (jobs that end meanwhile are left
// out). Close each when done, or leave them to the finalizer.
func (m *Manager) Jobs() ([]*Job, error) {
	ids, err := m.JobIDs()
	if err != nil {
		return nil, err
	}
	jobs := make([]*Job, 0, len(ids))
	for _, id := range ids {
		j, err := m.GetJob(id)
		if err != nil {
			if isCode(err, BG_E_NOT_FOUND) {
				continue
			}
			for _, o := range jobs {
				o.Close()
			}
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Option reads a manager option.
func (m *Manager) Option(o Option) (uint64, error) {
	const op = "bg_manager_get_option"
	h, err := m.handle(op)
	if err != nil {
		return 0, err
	}
	var v C.uint64_t
	if err := check(op, C.bg_manager_get_option(h, C.int32_t(o), &v)); err != nil {
		return 0, err
	}
	runtime.KeepAlive(m)
	return uint64(v), nil
}

// SetOption sets a manager option; ErrInvalidArg when unknown or out of range.
func (m *Manager) SetOption(o Option, value uint64) error {
	const op = "bg_manager_set_option"
	h, err := m.handle(op)
	if err != nil {
		return err
	}
	err = check(op, C.bg_manager_set_option(h, C.int32_t(o), C.uint64_t(value)))
	runtime.KeepAlive(m)
	return err
}

func isCode(err error, code HResult) bool {
	e, ok := err.(*Error)
	return ok && e.Code == code
}
