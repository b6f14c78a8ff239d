using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Turn.Signal.Access;

/// <summary>
/// Access control by endpoint: each endpoint names a policy (or allows anyone), the requirement
/// is evaluated by ASP.NET Core's authorization middleware, and an endpoint that names none,
/// or a path no endpoint serves, is refused. Needs <c>app.UseAuthorization()</c> after routing.
/// </summary>
public static class SignalAccess
{
    /// <summary>The signaling API key: server push and the room listing.</summary>
    public const string ApiKeyPolicy = "signal:api-key";

    /// <summary>TURN credentials over HTTP: the API key, or an admitted client within its rate.</summary>
    public const string IceServersPolicy = "signal:ice-servers";

    public static IServiceCollection AddSignalAccess(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new DenyRequirement()).Build())
            .AddPolicy(ApiKeyPolicy, p => p.AddRequirements(new ApiKeyRequirement()))
            .AddPolicy(IceServersPolicy, p => p.AddRequirements(new IceServersRequirement()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, AccessHandler>());
        services.Replace(ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler, AccessResultHandler>());
        return services;
    }

    /// <summary>A policy for a requirement of the caller's (the daemon's admin key, say).</summary>
    public static AuthorizationPolicy Policy(AccessRequirement requirement)
        => new AuthorizationPolicyBuilder().AddRequirements(requirement).Build();
}
