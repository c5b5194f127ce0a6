package store

import bolt "go.etcd.io/bbolt"

// BoltCount returns how many keys a bolt bucket holds, so tests can see that
// pruning really removes entries.
func BoltCount(b *Bolt, bucket string) (int, error) {
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(bucket)).Stats().KeyN
		return nil
	})
	return n, err
}
