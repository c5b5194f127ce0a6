package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMELayout: the README's Layout block names every directory of
// the repository that holds Go files (.ci's included), so a new package
// cannot go unmentioned.
func TestREADMELayout(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	_, block, ok1 := strings.Cut(rest, "```\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok1 || !ok2 {
		t.Fatal("README.md's Layout has no code block")
	}
	named := map[string]bool{}
	for _, f := range strings.Fields(block) {
		f = strings.TrimSuffix(f, ",")
		if strings.HasSuffix(f, "/") {
			named[strings.TrimSuffix(f, "/")] = true
		}
	}
	dirs := map[string]bool{}
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			dir, err := filepath.Rel("../..", filepath.Dir(path))
			if err != nil {
				return err
			}
			dirs[filepath.ToSlash(dir)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d Go directories: %v", len(dirs), dirs)
	}
	for dir := range dirs {
		if !named[dir] {
			t.Errorf("README.md's Layout does not name %s/", dir)
		}
	}
}
