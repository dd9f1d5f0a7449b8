package mime

import "sync"

// Buffers come from one pool of one size, so that the memory a parse
// and its body reads need is a buffer or two for the whole program, not
// a few per part: a message with dozens of parts used to allocate 8 KiB
// per part and 32 KiB per Parse, which for a 1.5 MB message of 60
// attachments came to 0.17x the message size. A buffer goes back as
// soon as its reader is done (the scanner at the end of Parse, a
// decoder at the end of its input or at Close), and one size serves
// every reader, so the scanner's buffer is the one the first body
// decoder takes. A reader dropped half-way leaves its buffer to the
// garbage collector.
//
// Small inputs get a buffer of their own size instead: a pooled buffer
// would be mostly unused, and one that is never given back (a body read
// only in part) would cost more than the small one.

// poolBufSize is the size of every pooled buffer: the scanner's read
// buffer, the parser's header buffer, a base64 decoder's input, or the
// input and output halves of a quoted-printable or charset decoder.
// 8 KiB keeps a parse with its body reads to a few buffers in all (the
// pool may hold one more for each P); the price is more ReadAt calls
// when parsing from a file, one per 8 KiB.
const poolBufSize = 8 << 10

// smallBody is the largest body (quoted-printable: twice the body) that
// gets a buffer of its own size.
const smallBody = 512

// smallMessage is the largest message whose scanner gets a buffer of
// its own size.
const smallMessage = 4 << 10

// bufPool keeps *[]byte, and the readers keep the pointer they got, so
// that neither get nor put allocates once the pool is warm.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, poolBufSize)
	return &b
}}

// getBuf returns a pooled buffer of poolBufSize.
func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf gives b back; a nil b (a buffer that was not pooled, or one
// that was already given back) is ignored.
func putBuf(b *[]byte) {
	if b != nil {
		bufPool.Put(b)
	}
}

// bodyBuf is a buffer for a body of size bytes (-1: unknown): a pooled
// one, with the pointer to give back, or one of its own size for a
// small body, with a nil pointer.
func bodyBuf(size int64) ([]byte, *[]byte) {
	if size < 0 || size > smallBody {
		b := getBuf()
		return *b, b
	}
	return make([]byte, max(int(size)+1, 64)), nil
}

// halves splits b into an input half and an empty output half with the
// capacity of the input: decoders that only shrink their input never
// outgrow it.
func halves(b []byte) (in, out []byte) {
	n := len(b) / 2
	return b[:n], b[n:n]
}
