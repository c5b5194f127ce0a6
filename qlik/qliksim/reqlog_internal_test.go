package qliksim

import "testing"

// TestLoggedPathCutsSessionIDs: in the demo the simulator logs into
// qlikbot's log, which must never hold a full session id.
func TestLoggedPathCutsSessionIDs(t *testing.T) {
	t.Parallel()
	tests := []struct{ service, path, want string }{
		{"qps", "/qps/finance/session/55142b14-8d2d-43b3-a522-4b2fb46b2798", "/qps/finance/session/55142b14…"},
		{"qps", "/qps//session/D1B5D953-4312-4CF2-A106-1992A84DD82B", "/qps//session/D1B5D953…"},
		{"qps", "/qps/finance/session", "/qps/finance/session"},
		{"qps", "/qps/session/s1", "/qps/session/s1"},
		{"qps", "/qps/finance/user/LAB/testuser_1", "/qps/finance/user/LAB/testuser_1"},
		{"qrs", "/qrs/virtualproxyconfig/9d5d7900-3e52-4f22-b6b9-51f38a3afe86", "/qrs/virtualproxyconfig/9d5d7900-3e52-4f22-b6b9-51f38a3afe86"},
	}
	for _, tc := range tests {
		if got := loggedPath(tc.service, tc.path); got != tc.want {
			t.Errorf("loggedPath(%s, %s) = %s, want %s", tc.service, tc.path, got, tc.want)
		}
	}
}
