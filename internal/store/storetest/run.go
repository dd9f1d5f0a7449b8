package storetest

import "testing"

// Run runs the conformance suite. open must return a new, empty store
// for each call and arrange its Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(f *fixture)
	}{
		{"Users", testUsers},
		{"UserErrors", testUserErrors},
		{"Aliases", testAliases},
		{"CommitShared", testCommitShared},
		{"CommitMany", testCommitMany},
		{"CommitLarge", testCommitLarge},
		{"CommitHead", testCommitHead},
		{"CommitAtomic", testCommitAtomic},
		{"CommitThroughIntake", testCommitThroughIntake},
		{"Expunge", testExpunge},
		{"Quota", testQuota},
		{"Locks", testLocks},
		{"DeleteUser", testDeleteUser},
		{"Concurrency", testConcurrency},
		{"QueueClaim", testQueueClaim},
		{"QueueDefer", testQueueDefer},
		{"QueueDelivered", testQueueDelivered},
		{"QueueFail", testQueueFail},
		{"QueueList", testQueueList},
		{"QueueClaimRace", testQueueClaimRace},
		{"QueueWatch", testQueueWatch},
		{"IMAPMailboxes", testIMAPMailboxes},
		{"IMAPFlags", testIMAPFlags},
		{"IMAPAppendCopy", testIMAPAppendCopy},
		{"IMAPNotify", testIMAPNotify},
		{"IMAPAppendBatch", testIMAPAppendBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(newFixture(t, open))
		})
	}
}
