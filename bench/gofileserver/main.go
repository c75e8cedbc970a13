// A GOPROXY file tree served by Go's own net/http over plain HTTP: the fastest HTTP
// path the go command can meet, as a reference row for `python -m bench`.
//
// Usage: gofileserver DIR. Prints the port it listens on (127.0.0.1 only), then serves.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	if err := http.Serve(listener, http.FileServer(http.Dir(os.Args[1]))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
