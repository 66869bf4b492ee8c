package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise
// it comes from the module's build information.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

var versionCmd = &command{
	name:    "version",
	summary: "print the version of switchboard and of Go it was built with",
	usage:   "",
}

func init() {
	versionCmd.run = func(ctx context.Context, io *stdio, args []string) int {
		fs := newFlags(versionCmd, io)
		if code, done := parseFlags(versionCmd, fs, io, args); done {
			return code
		}
		if fs.NArg() != 0 {
			return usagef(versionCmd, io, "unexpected argument %q", fs.Arg(0))
		}
		fmt.Fprintf(io.out, "switchboard %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
}
