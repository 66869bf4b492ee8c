// Package soak holds switchboard's load and soak test: a hub holding many
// connections (held by child processes, so that each process stays within its
// descriptor limit), churned by connects and disconnects, carrying publishes
// and requests, and at the end no bigger — in goroutines, open descriptors
// and heap — than before, within the bounds stated in soak_test.go and
// docs/security.md.
//
//	go test ./test/soak                      # short: 1,000 connections, ~5 s of churn (CI)
//	go test ./test/soak -run Soak -soak=10m -timeout 15m  # 10,000 connections, 10 minutes of churn
//
// Without a -timeout above the soak plus two minutes, the churn is shortened
// to end before go test stops the binary, and the test says so.
package soak
