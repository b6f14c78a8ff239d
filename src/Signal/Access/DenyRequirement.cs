using Microsoft.AspNetCore.Http;

namespace Turn.Signal.Access;

/// <summary>The fallback: an endpoint that declares no access rule, or a path no endpoint serves, is refused.</summary>
public sealed class DenyRequirement : AccessRequirement
{
    public override AccessRefusal? Check(HttpContext context)
        => new(StatusCodes.Status404NotFound, "no such resource");
}
