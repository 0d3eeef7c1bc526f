"""The admin console (issue 12): admins' own accounts and passkeys, their sessions, roles and
permissions, the tamper-evident audit log, and the pages under /admin.

========================== ================================================================
module                     holds
========================== ================================================================
:mod:`.roles`              roles, permissions, the declaration every route carries
:mod:`.accounts`           creating, listing and disabling admins; enrolment links
:mod:`.passkeys`           the WebAuthn ceremonies for admins
:mod:`.ceremony`           the challenge between options and answer (its own cookie)
:mod:`.sessions`           the console session: cookie, idle and absolute limits, freshness
:mod:`.guards`             ``requires``, ``public``, ``fresh_passkey_required``, the headers
:mod:`.audit`              the audit log: ``record``, checkpoints, ``verify``
:mod:`.overview`           the Overview page's figures
:mod:`.messages`           what the console says: error messages, role names
:mod:`.entry`              the way in: enrolment, sign-in, sign-out, re-verification
:mod:`.views`              the pages: Overview, admins, audit log
:mod:`.customer_search`    finding customers by address, name, number or id, keyset pages
:mod:`.customers`          what an admin does for a customer: sessions, lock, rights
                           requests, export, erasure
:mod:`.timeline`           a customer's consents, each ledger event with its proof
:mod:`.customers_views`    the customer pages
:mod:`.complaints`         complaints: opening one pauses the customer's marketing purposes
:mod:`.complaints_views`   the complaint pages under /admin/complaints
:mod:`.partners`           clients: create, edit, rotate a secret, delete (console and API)
:mod:`.client_form`        the client form read as registration metadata
:mod:`.sharing`            each partner's data-sharing map
:mod:`.consent_counts`     one recipient's consents, counted in SQL
:mod:`.catalogue_view`     the catalogue's purposes, their versions and diffs
:mod:`.wording`            legal bases, needs and what a new version changes, in fi/sv/en
:mod:`.partners_views`     the partner, sharing-map and catalogue pages
:mod:`.api`                the admin API under /admin/api/v1 (its own table)
========================== ================================================================
"""
