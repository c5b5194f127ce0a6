// Package qlik is the client for Qlik Sense's Repository Service (QRS, the
// topology of virtual proxies, proxy services and engine services), Proxy
// Service (QPS, the sessions) and engines (their health check). It speaks
// mutual TLS with the certificates the QMC exports, sends a fresh Xrfkey
// on every call, asks every (virtual proxy, linked node) pair concurrently
// within an adaptive concurrency limit per node, paces writes with a
// rate.Limiter, and returns partial results when a node fails. Session ids
// are credentials: errors and log lines show them shortened (ShortID).
// It knows nothing of chat.
package qlik
