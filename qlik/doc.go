// Package qlik is the client for Qlik Sense's Repository Service (QRS, the
// topology of virtual proxies and proxy services) and Proxy Service (QPS,
// the sessions). It speaks mutual TLS with the certificates the QMC
// exports, sends a fresh Xrfkey on every call, asks every (virtual proxy,
// linked node) pair concurrently within a concurrency limit and a
// rate.Limiter, and returns partial results when a node fails.
// It knows nothing of chat.
package qlik
