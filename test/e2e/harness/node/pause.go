// The test node's sandbox ("pause") process: holds the pod's namespaces open and
// exits on SIGTERM or SIGINT. Built as a static binary into an image of its own, so
// the node needs no registry (node/images.sh).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
