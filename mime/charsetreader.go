package mime

import (
	"errors"
	"io"

	"golang.org/x/text/transform"
)

// decodeReader converts r with a charset decoder of golang.org/x/text.
// It works as transform.Reader does, but through one pooled buffer
// (half for input, half for output) that goes back to the pool when
// the last byte has been read: transform.NewReader allocates 8 KiB for
// every reader, which for a message of many text parts in a legacy
// charset is 8 KiB of garbage per part.
type decodeReader struct {
	r      io.Reader
	t      transform.Transformer
	pooled *[]byte
	src    []byte // input not yet converted is src[src0:src1]
	dst    []byte // output not yet returned is dst[dst0:dst1]
	src0   int
	src1   int
	dst0   int
	dst1   int
	err    error // r's error (io.EOF at the end), or the decoder's
	done   bool  // no more output will come
}

func newDecodeReader(r io.Reader, t transform.Transformer) *decodeReader {
	d := &decodeReader{r: r, t: t, pooled: getBuf()}
	buf := *d.pooled
	d.src, d.dst = buf[:len(buf)/2], buf[len(buf)/2:]
	return d
}

var errInconsistentCount = errors.New("mime: charset decoder did not read all its input")

func (d *decodeReader) Read(p []byte) (int, error) {
	for {
		if d.dst0 != d.dst1 {
			n := copy(p, d.dst[d.dst0:d.dst1])
			d.dst0 += n
			if d.dst0 == d.dst1 && d.done {
				d.release()
				return n, d.err
			}
			return n, nil
		}
		if d.done {
			d.release()
			return 0, d.err
		}
		// Convert what there is, or flush the decoder when the input
		// has ended (even with an error: process n > 0 bytes first).
		if d.src0 != d.src1 || d.err != nil {
			var n int
			var err error
			d.dst0 = 0
			d.dst1, n, err = d.t.Transform(d.dst, d.src[d.src0:d.src1], d.err == io.EOF)
			d.src0 += n
			switch {
			case err == nil:
				if d.src0 != d.src1 {
					d.err = errInconsistentCount
				}
				d.done = d.err != nil
				continue
			case errors.Is(err, transform.ErrShortDst) && (d.dst1 != 0 || n != 0):
				continue // return the output, then go on
			case errors.Is(err, transform.ErrShortSrc) && d.src1-d.src0 != len(d.src) && d.err == nil:
				// Read more input below and try again.
			default:
				d.done = true
				if d.err == nil || d.err == io.EOF {
					d.err = err
				}
				continue
			}
		}
		if d.src0 != 0 {
			d.src0, d.src1 = 0, copy(d.src, d.src[d.src0:d.src1])
		}
		var n int
		n, d.err = d.r.Read(d.src[d.src1:])
		d.src1 += n
	}
}

// release gives the buffer back once everything has been returned.
func (d *decodeReader) release() {
	putBuf(d.pooled)
	d.pooled, d.src, d.dst = nil, nil, nil
	d.src0, d.src1, d.dst0, d.dst1 = 0, 0, 0, 0
}
