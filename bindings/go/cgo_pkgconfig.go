//go:build bgcopy_pkgconfig

package bgcopy

// Built with -tags bgcopy_pkgconfig, the package takes its compiler and linker flags from
// pkg-config (the bgcopy.pc that `cmake --install` writes). Without the tag it takes them from
// CGO_CFLAGS / CGO_LDFLAGS, or finds an installed header and library on the default paths.

// #cgo pkg-config: bgcopy
import "C"
