package authz

import "slices"

// Permission is one thing a role lets its holders do.
type Permission string

// The permissions a role can hold. Every other spelling is rejected by Parse
// and denied by Decide.
const (
	List    Permission = "list"    // see sessions, users, proxies
	Delete  Permission = "delete"  // end named sessions
	Kick    Permission = "kick"    // end every session on a virtual proxy (bulk)
	Logout  Permission = "logout"  // end every session of one user
	Approve Permission = "approve" // approve someone else's pending action
	Audit   Permission = "audit"   // read the audit trail
	Health  Permission = "health"  // read the engines' health (asked per node, on every virtual proxy: "*")
)

// allPermissions is the canonical order, used for sorting and messages.
var allPermissions = [...]Permission{List, Delete, Kick, Logout, Approve, Audit, Health}

// Permissions returns every known permission in canonical order.
func Permissions() []Permission { return slices.Clone(allPermissions[:]) }

// Valid reports whether p is one of the known permissions.
func (p Permission) Valid() bool { return permIndex(p) >= 0 }

func permIndex(p Permission) int {
	for i, q := range allPermissions {
		if p == q {
			return i
		}
	}
	return -1
}

// approvable are the permissions that may be made to need approval: the
// ones that end sessions. Approving a read or an approval makes no sense.
func approvable(p Permission) bool { return p == Delete || p == Kick || p == Logout }
