package ovsdb

import "encoding/json"

// SnapshotJSONForTest returns the database contents as JSON.
func (db *Database) SnapshotJSONForTest() []byte {
	db.RLock()
	defer db.RUnlock()
	b, _ := json.Marshal(db.SnapshotLocked())
	return b
}
