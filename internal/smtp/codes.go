package smtp

// Reply codes of RFC 5321 §4.2.2 and §4.2.3, plus the ones extensions add.
// The names say what the code means; the comment names the RFC section.
const (
	C211SystemStatus   = 211 // RFC 5321 §4.2.3: system status, or system help reply
	C214Help           = 214 // RFC 5321 §4.2.3: help message
	C220ServiceReady   = 220 // RFC 5321 §4.2.3: <domain> service ready
	C221Closing        = 221 // RFC 5321 §4.2.3: <domain> service closing transmission channel
	C235AuthOK         = 235 // RFC 4954 §6: authentication succeeded
	C250OK             = 250 // RFC 5321 §4.2.3: requested mail action okay, completed
	C251UserNotLocal   = 251 // RFC 5321 §4.2.3: user not local; will forward
	C252CannotVerify   = 252 // RFC 5321 §4.2.3: cannot VRFY user, but will accept message
	C334AuthChallenge  = 334 // RFC 4954 §4: server challenge during AUTH
	C354StartData      = 354 // RFC 5321 §4.2.3: start mail input; end with <CRLF>.<CRLF>
	C421ServiceUnavail = 421 // RFC 5321 §4.2.3: service not available, closing channel
	C450MailboxUnavail = 450 // RFC 5321 §4.2.3: mailbox unavailable (busy, temporarily blocked)
	C451LocalError     = 451 // RFC 5321 §4.2.3: requested action aborted: local error in processing
	C452InsufficientSt = 452 // RFC 5321 §4.2.3: insufficient system storage (also too many recipients, §4.5.3.1.10)
	C454TempAuthFail   = 454 // RFC 4954 §6: temporary authentication failure
	C455ParamsNotAccom = 455 // RFC 5321 §4.2.3: server unable to accommodate parameters
	C500SyntaxError    = 500 // RFC 5321 §4.2.3: syntax error, command unrecognized (also line too long)
	C501ParamSyntax    = 501 // RFC 5321 §4.2.3: syntax error in parameters or arguments
	C502NotImpl        = 502 // RFC 5321 §4.2.3: command not implemented
	C503BadSequence    = 503 // RFC 5321 §4.2.3: bad sequence of commands
	C504ParamNotImpl   = 504 // RFC 5321 §4.2.3: command parameter not implemented
	C530AuthRequired   = 530 // RFC 4954 §6: authentication required
	C534AuthTooWeak    = 534 // RFC 4954 §6: authentication mechanism is too weak
	C535AuthFailed     = 535 // RFC 4954 §6: authentication credentials invalid
	C538EncryptionReq  = 538 // RFC 4954 §6: encryption required for requested authentication mechanism
	C550MailboxUnavail = 550 // RFC 5321 §4.2.3: mailbox unavailable (not found, no access, policy)
	C551UserNotLocal   = 551 // RFC 5321 §4.2.3: user not local; please try <forward-path>
	C552ExceededStor   = 552 // RFC 5321 §4.2.3: exceeded storage allocation (also too much mail data)
	C553BadMailbox     = 553 // RFC 5321 §4.2.3: mailbox name not allowed (syntax)
	C554TransactionFai = 554 // RFC 5321 §4.2.3: transaction failed (or no SMTP service here, at connection)
	C555ParamsUnknown  = 555 // RFC 5321 §4.2.3: MAIL FROM/RCPT TO parameters not recognized or not implemented
)

// Enhanced status codes of RFC 3463 (registry: RFC 5248) that posthorn
// sends. Class 2 is success, 4 temporary, 5 permanent; only those three
// classes exist, so 3xx replies never carry one.
const (
	E200Other          = "2.0.0"  // RFC 3463 §3.1: other/undefined status (success)
	E210SenderOK       = "2.1.0"  // RFC 3463 §3.2: other address status: the sender is fine
	E215DestValid      = "2.1.5"  // RFC 3463 §3.2: destination address valid
	E250OtherProtocol  = "2.5.0"  // RFC 3463 §3.6: other or undefined protocol status (VRFY 252)
	E270AuthOK         = "2.7.0"  // RFC 4954 §6: authentication succeeded
	E400Other          = "4.0.0"  // RFC 3463 §3.1: other/undefined temporary status
	E422MailboxFull    = "4.2.2"  // RFC 3463 §3.3: mailbox full (over quota)
	E430SystemOther    = "4.3.0"  // RFC 3463 §3.4: other or undefined mail system status
	E431SystemFull     = "4.3.1"  // RFC 3463 §3.4: mail system full
	E432NotAccepting   = "4.3.2"  // RFC 3463 §3.4: system not accepting network messages (shutdown)
	E442BadConnection  = "4.4.2"  // RFC 3463 §3.5: bad connection (timeouts)
	E453TooManyRcpts   = "4.5.3"  // RFC 3463 §3.6: too many recipients
	E470Security       = "4.7.0"  // RFC 3463 §3.8: other or undefined security status (limits, temp auth failure)
	E471PolicyTemp     = "4.7.1"  // RFC 3463 §3.8: delivery not authorized (temporary policy refusal)
	E500Other          = "5.0.0"  // RFC 3463 §3.1: other/undefined permanent status
	E511BadDestMailbox = "5.1.1"  // RFC 3463 §3.2: bad destination mailbox address (no such user)
	E513BadDestSyntax  = "5.1.3"  // RFC 3463 §3.2: bad destination mailbox address syntax
	E517BadSenderSynt  = "5.1.7"  // RFC 3463 §3.2: bad sender's mailbox address syntax
	E522MailboxFull    = "5.2.2"  // RFC 3463 §3.3: mailbox full (permanent)
	E530SystemOther    = "5.3.0"  // RFC 3463 §3.4: other or undefined mail system status
	E534MsgTooBig      = "5.3.4"  // RFC 3463 §3.4: message too big for system
	E550OtherProtocol  = "5.5.0"  // RFC 3463 §3.6: other or undefined protocol status
	E551InvalidCommand = "5.5.1"  // RFC 3463 §3.6: invalid command (also bad sequence)
	E552SyntaxError    = "5.5.2"  // RFC 3463 §3.6: syntax error (unknown command, line too long)
	E553TooManyRcpts   = "5.5.3"  // RFC 3463 §3.6: too many recipients
	E554InvalidArgs    = "5.5.4"  // RFC 3463 §3.6: invalid command arguments
	E560MediaOther     = "5.6.0"  // RFC 3463 §3.7: other or undefined media error (content refused)
	E567NonASCIIAddr   = "5.6.7"  // RFC 6531 §3.5: non-ASCII addresses not permitted without SMTPUTF8
	E570Security       = "5.7.0"  // RFC 3463 §3.8: other or undefined security status (auth required)
	E571NotAuthorized  = "5.7.1"  // RFC 3463 §3.8: delivery not authorized (relaying denied, policy)
	E578BadCredentials = "5.7.8"  // RFC 4954 §6: authentication credentials invalid
	E5711EncryptionReq = "5.7.11" // RFC 4954 §6: encryption required for requested authentication mechanism
)
