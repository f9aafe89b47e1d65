-- wrk script for the App benchmark's `app-post` scenario (benches/app.sh):
--   wrk ... -s benches/app_post.lua http://127.0.0.1:PORT/users
-- Every request is `POST /users` with a JSON body that the servers parse into a typed
-- struct and echo back. The command line's headers (-H) are kept; wrk.format() adds
-- Content-Length. benches/app.sh checks each server's answer to this exact body.
wrk.method = "POST"
wrk.body = '{"user_id":42,"active":true,"name":"Ada Lovelace"}'
wrk.headers["Content-Type"] = "application/json"
