// Package grpcfake starts the in-process gRPC servers that the tests' fake
// Google APIs register on.
package grpcfake

import (
	"net"
	"testing"

	"google.golang.org/grpc"
)

// Serve starts a gRPC server on a local port with the services register
// adds, stops it when the test ends, and returns its address.
func Serve(t testing.TB, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	register(g)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}
