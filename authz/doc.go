// Package authz decides who may do what, where. (Work in progress.)
package authz
