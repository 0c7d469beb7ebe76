package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteFileSynced_FailureLeavesNoTemp: writing a shared identity
// file (the server certificate and key, the device and console CAs,
// taken from the store or put back after a failed regeneration) that
// fails leaves no PATH.tmp beside it, whichever step failed; a rename
// that failed left the certificate's copy there. The failures are made
// with directories, not permissions, since the tests may run as root.
func TestWriteFileSynced_FailureLeavesNoTemp(t *testing.T) {
	tests := []struct {
		name  string
		block func(t *testing.T, path string) // makes the write fail
	}{
		{"rename over a directory", func(t *testing.T, path string) {
			mustMkdirWithFile(t, path)
		}},
		{"temporary name taken by a directory", func(t *testing.T, path string) {
			mustMkdirWithFile(t, path+".tmp")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cert.pem")
			tt.block(t, path)
			before := names(t, dir)
			if err := writeFileSynced(path, []byte("-----BEGIN CERTIFICATE-----\n")); err == nil {
				t.Fatal("the write succeeded")
			}
			if got := names(t, dir); !slices.Equal(got, before) {
				t.Errorf("the folder holds %q after the failed write, %q before", got, before)
			}
		})
	}
}

func mustMkdirWithFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestCopyFile_FailureLeavesNoTemp: "service install" copying the program
// into place that fails at the rename (the target a directory) leaves no
// TARGET.new beside it; it did.
func TestCopyFile_FailureLeavesNoTemp(t *testing.T) {
	src := filepath.Join(t.TempDir(), "provisio")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	to := filepath.Join(dir, "provisio")
	mustMkdirWithFile(t, to)
	if err := copyFile(src, to, 0o755); err == nil {
		t.Fatal("a copy over a directory succeeded")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"provisio"}) {
		t.Errorf("the folder holds %q after the failed copy, want only the directory in the way", got)
	}
}
