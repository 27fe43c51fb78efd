"""Authentication and authorisation over HTTP.

* :mod:`.gate`: the :class:`~.gate.Gate` (token → caller → policy) and the middleware
  recognising each request's caller;
* :mod:`.rules`: the access class of **every** route, in one table;
* :mod:`.guard`: wraps every route with the check its rule asks for (an app with an
  unclassified route refuses to start);
* :mod:`.routes`: login/logout (the browser cookie), neuroglancer's token route, whoami.

The model below it (users, hashed tokens, roles, public versions, OpenID Connect) is
:mod:`voxhub.service.auth`, which ``voxhub auth`` manages without the web stack.
"""

from voxhub.server.auth.gate import PRINCIPAL_KEY, TOKEN_SOURCE_KEY, Authenticate, Gate

__all__ = ["PRINCIPAL_KEY", "TOKEN_SOURCE_KEY", "Authenticate", "Gate"]
