#!/usr/bin/env python3
"""Write N realistic messages (2 to 4 KB, seeded) into a Maildir's new/ for
bench/imap-compare.sh: the same files serve Dovecot directly and are
imported into posthorn (`posthorn import`), so both serve the same
messages. Headers vary as a mail client's inbox does: display names,
RFC 2047 encoded words, Cc on a third, In-Reply-To on a quarter.
Files use LF line ends, as Maildirs written by an MDA do; both servers
serve them with CRLF.

usage: imap-maildir.py DIR N [SEED]
"""
import os, random, sys, time

d, n = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rnd = random.Random(seed)
for sub in ('new', 'cur', 'tmp'):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
names = ['Alice Martin', 'Bob Jones', 'Carol Smith', 'Dave Brown', '=?utf-8?q?Eve_M=C3=BCller?=', 'Frank Li', '']
words = ('the quick brown fox jumps over lazy dog meeting report budget plan review '
         'update quarterly figures draft agenda notes follow up').split()
base = 1700000000
for i in range(n):
    who = rnd.choice(names)
    addr = (who.split()[0].lower() if who and not who.startswith('=?') else 'eve') + f'{i % 50}@example.org'
    frm = f'"{who}" <{addr}>' if who and not who.startswith('=?') else (f'{who} <{addr}>' if who else addr)
    subj = ' '.join(rnd.choice(words) for _ in range(rnd.randint(3, 9)))
    if i % 7 == 0:
        subj = '=?utf-8?q?R=C3=A9union_' + subj.replace(' ', '_') + '?='
    body = '\n'.join(' '.join(rnd.choice(words) for _ in range(12)) for _ in range(rnd.randint(20, 50)))
    t = base + i * 60
    date = time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(t))
    hdr = (f'Return-Path: <{addr}>\nDelivered-To: alice@example.test\n'
           f'Received: from mail.example.org (mail.example.org [192.0.2.{i % 250 + 1}])\n'
           f'\tby mx.example.test with ESMTPS id {i:08x}\n\tfor <alice@example.test>; {date}\n'
           f'From: {frm}\nTo: Alice <alice@example.test>\n'
           + ('Cc: Bob <bob@example.test>, carol@example.org\n' if i % 3 == 0 else '')
           + f'Subject: {subj}\nDate: {date}\nMessage-ID: <{i}.{seed}@example.org>\n'
           + (f'In-Reply-To: <{i-1}.{seed}@example.org>\n' if i % 4 == 1 else '')
           + 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n')
    data = (hdr + body + '\n').encode()
    name = f'{t}.M{i}P1.bench,S={len(data)}'
    with open(os.path.join(d, 'new', name), 'wb') as f:
        f.write(data)
