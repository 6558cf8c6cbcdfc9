package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/tokengate/tokengate/config"
)

// listen opens a TCP listener on addr, the value of the configuration key
// key ("listen.verify"). Its error names the key and the environment
// variable that set it, so that an operator knows what to change; a port
// in use says so in words.
func listen(addr, key string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%s: %s is already in use (another tokengate, or another program, listens there): stop it, or set %s in the configuration (or %s) to a free address",
			key, addr, key, config.EnvName(key))
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("%s: %s: permission denied (ports below 1024 need privileges): set %s (or %s) to a port above 1023",
			key, addr, key, config.EnvName(key))
	}
	return nil, fmt.Errorf("%s: cannot listen on %s: %w", key, addr, err)
}
