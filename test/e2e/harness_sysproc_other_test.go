//go:build e2e && !linux

package e2e

import "syscall"

// serverSysProcAttr puts a server in its own process group, so that the
// cleanup can kill the group. Only Linux has a parent-death signal: here a
// test binary killed by -timeout can leave servers behind.
func serverSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
