// Package qliksim is a Qlik Sense simulator (QRS, QPS and the engines'
// health checks) that works like httptest:
// Start it in-process, point a client at it, Close it via t.Cleanup.
//
// It is an independent implementation of the wire protocol described in
// qlik-api.md (it deliberately does not import package qlik, so a codec bug
// in the client is not mirrored here):
//
//   - Every node listens on its own loopback IP (127.0.0.1, 127.0.0.2, ...)
//     with the same QPS port and the same engine port; QRS listens on the
//     first node's IP. All speak HTTPS (HTTP/1.1) and require a client
//     certificate signed by the simulator's CA (tls.RequireAndVerifyClientCert):
//     without one the TLS handshake fails.
//   - Each node's server certificate carries its advertised host name and its
//     loopback IP as SANs. By default the lab's FQDNs are advertised (map them
//     with Resolve, like curl --resolve); WithAdvertiseLoopback advertises the
//     IPs themselves.
//   - Every call needs an Xrfkey: a query parameter named xrfkey (any case)
//     of exactly 16 characters [0-9A-Za-z] and an equal X-Qlik-Xrfkey header,
//     else 403 "XSRF prevention check failed. Possible XSRF discovered."
//   - QRS: GET /qrs/virtualproxyconfig/full, /qrs/proxyservice/full,
//     /qrs/engineservice/full (with the QRS filter subset
//     `field eq 'value' or ...`) and /qrs/about. settings.restListenPort
//     reports the QPS port actually listened on, settings.listenerPorts the
//     engine port.
//   - Engine: GET /healthcheck and /engine/healthcheck on every node's
//     engine port answer the documented health figures (see EngineHealth),
//     derived from the sessions the node holds. The engine checks no Xrfkey
//     (Butler SOS sends none; unverified).
//   - QPS: /qps/{prefix}/session[/{id}] and /qps/{prefix}/user/{dir}/{id};
//     "/qps//session" and "/qps/session" both mean the default virtual proxy.
//     Prefixes match case-insensitively. An unknown prefix, or a virtual proxy
//     not linked to the node that was asked, answers 404 (Qlik's behaviour
//     here is unverified). A POST for a session id that already exists on the
//     node answers 409. An unknown session id answers 404 with the id in the
//     body (a pessimistic model: a client must not pass answers on whole).
//   - Licensing: one user (directory + id, case-insensitive) may hold at most
//     5 sessions across the site; the 6th POST or AddSession is refused with
//     403 "No available access type". Lab sessions are loaded as given, even
//     beyond the limit (Generate respects it when Users allow).
//   - QPS user calls (GET/DELETE /qps/{prefix}/user/{dir}/{id}) see the
//     user's sessions on that node and virtual proxy only.
//   - Capacity per node and service (WithCapacity; DefaultCapacities: 16
//     QPS requests served at once and 32 waiting, 8 and 16 for QRS and for
//     the engine): beyond it requests wait their turn in arrival order, so
//     their latency grows; one that finds the queue full gets 503 at once.
//     Loads counts per node the peak in flight, the peak queued and the
//     503s. These numbers are a model for testing a client's manners, not
//     Qlik's (Qlik publishes none).
//   - Faults per node (SetFault): latency and jitter honour the request
//     context; Down closes the node's listeners and open connections (QRS too
//     when the node is the first one, as on a real central node) and reopens
//     them when cleared; ErrorRate answers 500 from one RNG seeded by
//     WithSeed (the same sequential calls meet the same faults in every run);
//     HandshakeDelay stalls the TLS handshake; Saturated, HighCPU and
//     LowMemory change what the engine health check reports. QRS runs on
//     the first node and shares its faults. Latency is served while holding
//     a capacity slot; faults come before the Xrfkey check.
//   - Every request that reached a handler is in the request log (Requests),
//     faulted ones included; a request whose client gave up during injected
//     latency or in the queue is logged with status 499. Each entry says
//     whether its TLS session was resumed.
//
// A Server is safe for concurrent use.
package qliksim
