package qlik

import "net/http"

// SetBeforeSend lets a test change a request just before it is sent, e.g.
// drop the Xrfkey header to get the server's real 403.
func SetBeforeSend(c *Client, f func(*http.Request)) { c.beforeSend = f }
