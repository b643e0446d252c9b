//go:build e2e && linux

package e2e

import "syscall"

// serverSysProcAttr puts a server in its own process group, so that the
// cleanup can kill the group, and has the kernel kill it when the test
// binary dies (a -timeout panic runs no cleanup).
func serverSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
