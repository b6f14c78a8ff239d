using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Turn.Signal.Access;

/// <summary>
/// What an endpoint requires of a request, declared on the endpoint as an authorization policy
/// (never derived from the path). <see cref="Check"/> answers null to let the request through, or
/// the refusal: its status and why.
/// </summary>
public abstract class AccessRequirement : IAuthorizationRequirement
{
    public abstract AccessRefusal? Check(HttpContext context);
}
