//go:build !unix

package main

import "os"

// holdBackupFile does nothing without flock.
func holdBackupFile(*os.File) {}

// removeDeadBackupFile removes nothing where a writer's liveness cannot
// be told.
func removeDeadBackupFile(string) (bool, error) { return false, nil }
