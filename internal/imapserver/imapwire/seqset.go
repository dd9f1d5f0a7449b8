package imapwire

import (
	"strconv"
)

// SeqRange is a range of sequence numbers or UIDs; 0 stands for "*", the
// largest number in use. Start may be greater than Stop (RFC 9051 §9:
// "2:4" and "4:2" are the same).
type SeqRange struct{ Start, Stop uint32 }

// SeqSet is a sequence set. Search reports "$" (RFC 5182) as Saved.
type SeqSet struct {
	Ranges []SeqRange
	Saved  bool
}

// maxRanges bounds the ranges of one sequence set.
const maxRanges = 10000

// SeqSet reads a sequence-set (or "$").
func (d *Decoder) SeqSet() SeqSet {
	if d.Byte('$') {
		return SeqSet{Saved: true}
	}
	var s SeqSet
	for d.err == nil {
		a := d.seqNumber()
		b := a
		if d.Byte(':') {
			b = d.seqNumber()
		}
		s.Ranges = append(s.Ranges, SeqRange{a, b})
		if len(s.Ranges) > maxRanges {
			d.Fail("sequence set too long")
		}
		if !d.Byte(',') {
			break
		}
	}
	return s
}

func (d *Decoder) seqNumber() uint32 {
	if d.Byte('*') {
		return 0
	}
	n := d.Number()
	if n == 0 && d.err == nil {
		d.Fail("sequence number 0")
	}
	return n
}

// IsSeqSetStart reports whether c may start a sequence set.
func IsSeqSetStart(c byte) bool { return isDigit(c) || c == '*' || c == '$' }

// Resolve returns the ranges with "*" replaced by max and Start <= Stop.
// For UIDs "*" is the largest UID in use, so a range n:* with n larger
// than max still contains max (RFC 9051 §6.4.9).
func (s SeqSet) Resolve(max uint32) []SeqRange {
	out := make([]SeqRange, 0, len(s.Ranges))
	for _, r := range s.Ranges {
		if r.Start == 0 {
			r.Start = max
		}
		if r.Stop == 0 {
			r.Stop = max
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out = append(out, r)
	}
	return out
}

// Contains reports whether n is in the resolved set rs.
func Contains(rs []SeqRange, n uint32) bool {
	for _, r := range rs {
		if n >= r.Start && n <= r.Stop {
			return true
		}
	}
	return false
}

// AppendSet formats sorted numbers as a compact sequence set ("1:3,7").
func AppendSet(b []byte, nums []uint32) []byte {
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return b
}
