// Package backend holds helpers for those who implement store.Store: the
// encoding of listing cursors, the order of IDs that breaks ties in a
// listing, the page size a filter asks for, and checks every backend makes
// the same way. A host that only reads and writes through a store.Store
// does not need it; package store is the contract it reads.
//
// # What lives where
//
// Package store keeps what a caller of a Store uses: the records, the
// Store interface and its optional abilities, params and filters with
// their Validate methods (which every backend calls, and a caller may call
// first), the sentinel errors, the listing order (store.Newer), the rule
// for storable text and times (store.TextOK, store.TimeOK,
// store.CleanText, which the engine applies to what a run produces), the
// limits of a page (store.ListLimitDefault, store.MaxListLimit), and the
// helpers that take the optional abilities with a fallback
// (store.CreateMany, store.ListStates, store.ListAll).
//
// This package has what only an implementation needs: a cursor is opaque
// to callers (store.Page.NextCursor), so its encoding (EncodeCursor,
// DecodeCursor, Cursor) is here, with the byte order of IDs (CompareIDs)
// that positions a cursor among records of one StartedAt, the page size a
// Limit means (PageLimit), and CheckCancelID, the check of RequestCancel's
// ID, which as a bare uuid.UUID has no params type to hang a Validate
// method on.
package backend
