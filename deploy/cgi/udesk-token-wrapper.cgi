#!/bin/sh
# udesk-token-wrapper.cgi -- for CGI hosting where SetEnv does not reach the program (suEXEC
# removes every variable not on its safe list, TOKEN_* included): install THIS file as
# udesk-token.cgi (chmod 0755), and the real binary outside the web root, then adjust the two
# paths.  The web server's CGI variables (REQUEST_METHOD, CONTENT_LENGTH, ...) pass through.
TOKEN_STORE=/home/example/udesk-token/tokens.db
# stderr goes to the web server's error log: warnings and errors only, not a line per request.
TOKEN_LOG_LEVEL=warning
export TOKEN_STORE TOKEN_LOG_LEVEL
exec /home/example/udesk-token/token-responder
