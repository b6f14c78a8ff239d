using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Turn.Hosting;
using Turn.Signal;
using Turn.Tests.Interop;
using Turn.Tests.Signal;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// Who may call each HTTP endpoint of the daemon, read from the endpoint table of the real host
/// rather than from a list kept by hand, so that an endpoint added later is covered too; then
/// attacked without credentials under every spelling of its path a client can put on the wire.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class EndpointAccessTests
{
    /// <summary>The room the tests seat a peer in, standing for every {parameter} of a route.</summary>
    private const string Room = "lobby";

    // The WebSocket's HTTP fallback is as open as the WebSocket: its session token is the
    // credential after the open, and joins are judged per join.
    private static readonly string[] Anonymous = ["/", "/signal.js", "/signal", "/signal/poll", "/signal/poll/{session}", "/signal/poll/{session}", "/signal/poll/{session}/close", "/healthz", "/readyz", "/metrics"];

    [Fact]
    public async Task EveryMappedEndpoint_DeclaresWhoMayCallIt()
    {
        await using EndpointAccessDaemon daemon = await EndpointAccessDaemon.StartAsync();
        IAuthorizationPolicyProvider policies = daemon.Services.GetRequiredService<IAuthorizationPolicyProvider>();
        IReadOnlyList<Endpoint> endpoints = daemon.Endpoints;
        Assert.NotEmpty(endpoints);

        // The routing service's view is the same table, so no endpoint escapes the checks below.
        Assert.Equal(endpoints.Select(e => e.DisplayName).Order(StringComparer.Ordinal), daemon.ServiceEndpoints.Select(e => e.DisplayName).Order(StringComparer.Ordinal));

        foreach (Endpoint endpoint in endpoints)
        {
            bool anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            bool authorized = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Count > 0 || endpoint.Metadata.GetOrderedMetadata<AuthorizationPolicy>().Count > 0;
            Assert.True(endpoint is RouteEndpoint, $"{endpoint.DisplayName} is not a route endpoint");
            Assert.True(anonymous || authorized, $"{endpoint.DisplayName} declares neither AllowAnonymous nor an authorization policy");

            // A policy named by string must exist, or the endpoint fails at request time instead of refusing.
            foreach (IAuthorizeData data in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Where(d => !string.IsNullOrEmpty(d.Policy)))
            {
                Assert.True(await policies.GetPolicyAsync(data.Policy!) is not null, $"{endpoint.DisplayName} names the policy \"{data.Policy}\", which is not registered");
            }
        }

        string[] open = [.. endpoints.OfType<RouteEndpoint>().Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null).Select(e => e.RoutePattern.RawText ?? "").Order(StringComparer.Ordinal)];
        Assert.Equal(Anonymous.Order(StringComparer.Ordinal), open);
    }

    [Fact]
    public async Task ProtectedEndpoints_RefuseEveryPathVariantWithoutCredentials()
    {
        await using EndpointAccessDaemon daemon = await EndpointAccessDaemon.StartAsync();

        // A seated peer makes the room real, so that the key's requests on {room} succeed rather than 404.
        await using SignalTestClient peer = await SignalTestClient.ConnectAsync(new Uri($"ws://{daemon.Authority}/signal"));
        await peer.JoinAsync(Room, token: JoinToken.Create(EndpointAccessDaemon.JoinTokenSecret, Room, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60));

        Protected[] endpoints = ProtectedOf(daemon);
        Assert.Contains(endpoints, e => e.Method == HttpMethods.Get && e.Path == "/api/ice-servers");
        Assert.Contains(endpoints, e => e.Method == HttpMethods.Post && e.Path == "/admin/drain");

        foreach (Protected endpoint in endpoints)
        {
            foreach ((string variant, string target) in Variants(endpoint.Path, daemon.Authority).DistinctBy(v => v.Target))
            {
                EndpointAccessResponse response = await daemon.SendAsync(endpoint.Method, target);

                string request = $"{endpoint.Method} {target} HTTP/1.1 ({variant}, no credentials)";
                Assert.True(IsRefusal(response.Status), $"{request}: {response}");
                Assert.False(response.CarriesTurnCredentials, $"{request} leaked TURN credentials: {response}");
            }
        }

        // The scheme name is case-insensitive (RFC 7235 §2.1), so the key opens each endpoint however it is written.
        foreach (Protected endpoint in endpoints.Where(e => e.Method == HttpMethods.Get || !e.Admin))
        {
            foreach (string scheme in new[] { "Bearer", "bearer", "BEARER" })
            {
                string key = endpoint.Admin ? EndpointAccessDaemon.AdminApiKey : EndpointAccessDaemon.SignalApiKey;
                EndpointAccessResponse response = await daemon.SendAsync(endpoint.Method, endpoint.Path, $"{scheme} {key}");

                Assert.True(response.Status is >= 200 and < 300, $"{endpoint.Method} {endpoint.Path} with \"{scheme} <{(endpoint.Admin ? "Admin" : "Signal")}:ApiKey>\": {response}");
            }
        }

        // Each key opens its own API only.
        foreach (Protected endpoint in endpoints)
        {
            string other = endpoint.Admin ? EndpointAccessDaemon.SignalApiKey : EndpointAccessDaemon.AdminApiKey;
            EndpointAccessResponse response = await daemon.SendAsync(endpoint.Method, endpoint.Path, $"Bearer {other}");

            Assert.True(IsRefusal(response.Status), $"{endpoint.Method} {endpoint.Path} with the other API's key: {response}");
            Assert.False(response.CarriesTurnCredentials, $"{endpoint.Method} {endpoint.Path} with the other API's key leaked TURN credentials: {response}");
        }

        // The API key's answer carries credentials, which is what makes their absence above mean something.
        EndpointAccessResponse withKey = await daemon.SendAsync(HttpMethods.Get, "/api/ice-servers", $"Bearer {EndpointAccessDaemon.SignalApiKey}");
        Assert.True(withKey.CarriesTurnCredentials, $"GET /api/ice-servers with the API key: {withKey}");

        // A join token is a client's credential: TURN credentials, and nothing of the backend's or the operator's.
        string token = JoinToken.Create(EndpointAccessDaemon.JoinTokenSecret, "*", DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        EndpointAccessResponse iceServers = await daemon.SendAsync(HttpMethods.Get, "/api/ice-servers", $"Bearer {token}");
        Assert.True(iceServers.Status == StatusCodes.Status200OK && iceServers.CarriesTurnCredentials, $"GET /api/ice-servers with a join token: {iceServers}");
        EndpointAccessResponse inQuery = await daemon.SendAsync(HttpMethods.Get, $"/api/ice-servers?token={token}");
        Assert.True(inQuery.Status == StatusCodes.Status200OK && inQuery.CarriesTurnCredentials, $"GET /api/ice-servers?token=<join token>: {inQuery}");
        foreach (Protected endpoint in endpoints.Where(e => e.Path != "/api/ice-servers"))
        {
            EndpointAccessResponse response = await daemon.SendAsync(endpoint.Method, endpoint.Path, $"Bearer {token}");

            Assert.True(IsRefusal(response.Status), $"{endpoint.Method} {endpoint.Path} with a join token: {response}");
        }
    }

    [Fact]
    public async Task UnknownPaths_AreRefused()
    {
        await using EndpointAccessDaemon daemon = await EndpointAccessDaemon.StartAsync();

        foreach (string path in new[] { "/api", "/api/", "/api/ice-servers/x", "/api/rooms/lobby/x", "/admin", "/admin/", "/admin/x", "/.env", "/metrics/x", "/signal.js/x" })
        {
            // A key does not turn an unknown path into something: the fallback refuses whoever asks.
            foreach (string? authorization in new[] { null, $"Bearer {EndpointAccessDaemon.AdminApiKey}", $"Bearer {EndpointAccessDaemon.SignalApiKey}" })
            {
                EndpointAccessResponse response = await daemon.SendAsync(HttpMethods.Get, path, authorization);

                Assert.True(response.Status == StatusCodes.Status404NotFound, $"GET {path} HTTP/1.1 ({(authorization is null ? "no credentials" : "with a key")}): {response}");
            }
        }

        // A name someone else points at this server (DNS rebinding) is refused even on public endpoints.
        foreach (string path in new[] { "/", "/healthz", "/signal.js" })
        {
            EndpointAccessResponse allowed = await daemon.SendAsync(HttpMethods.Get, path);
            EndpointAccessResponse rebound = await daemon.SendAsync(HttpMethods.Get, path, host: $"rebind.attacker.example:{daemon.HttpPort}");

            Assert.True(allowed.Status == StatusCodes.Status200OK, $"GET {path} HTTP/1.1 with Host {daemon.Authority}: {allowed}");
            Assert.True(rebound.Status == StatusCodes.Status400BadRequest, $"GET {path} HTTP/1.1 with Host rebind.attacker.example:{daemon.HttpPort}: {rebound}");
        }
    }

    private static bool IsRefusal(int status)
        => status is StatusCodes.Status400BadRequest or StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound;

    /// <summary>Every endpoint that does not allow anonymous callers, with its route parameters filled in.</summary>
    private static Protected[] ProtectedOf(EndpointAccessDaemon daemon)
        => [.. daemon.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get]).Select(method => new Protected(
                method,
                Fill(e.RoutePattern),
                e.Metadata.GetOrderedMetadata<AuthorizationPolicy>().SelectMany(p => p.Requirements).OfType<AdminKeyRequirement>().Any())))];

    private static string Fill(RoutePattern pattern)
        => "/" + string.Join("/", pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart => Room,
            _ => throw new InvalidOperationException($"{pattern.RawText}: a route part of kind {part.PartKind}"),
        }))));

    /// <summary>Spellings of <paramref name="path"/> that a server might route, normalize or compare differently from the canonical one.</summary>
    private static IEnumerable<(string Variant, string Target)> Variants(string path, string authority)
    {
        int second = path.IndexOf('/', 1) is > 0 and int at ? at : path.Length;
        int last = path.LastIndexOf('/');
        string first = path[1..second];
        string rest = path[second..];
        yield return ("as mapped", path);
        yield return ("trailing slash", path + "/");
        yield return ("/. appended", path + "/.");
        yield return ("/./ inserted", $"/{first}/.{rest}");
        yield return ("/./ leading", "/." + path);
        yield return ("doubled leading slash", "/" + path);
        yield return ("upper case", path.ToUpperInvariant());
        yield return ("percent-encoded letter", $"/%{(int)path[1]:X2}{path[2..]}");
        yield return ("every letter percent-encoded", string.Concat(path.Select(c => c == '/' ? "/" : string.Create(CultureInfo.InvariantCulture, $"%{(int)c:x2}"))));
        yield return (";x appended", path + ";x");
        yield return (";x in a segment", $"/{first};x{rest}");
        yield return ("query string", path + "?x=1");
        yield return ("query string that names a token", path + "?token=x&key=x");
        yield return ("fragment", path + "#x");
        yield return ("/x/.. before the last segment", $"{path[..last]}/x/..{path[last..]}");
        yield return ("/.. above the root", "/.." + path);
        yield return ("percent-encoded dots", $"{path[..last]}/x/%2e%2e{path[last..]}");
        yield return ("backslashes", path.Replace('/', '\\'));
        yield return ("NUL appended", path + "%00");
        yield return ("absolute form", $"http://{authority}{path}");
        if (rest.Length > 0)
        {
            yield return ("doubled slash", $"/{first}/{rest}");
            yield return ("%2F for a slash", $"/{first}%2F{rest[1..]}");
            yield return ("%2f for a slash", $"/{first}%2f{rest[1..]}");
            yield return ("/x/.. after the first segment", $"/{first}/x/..{rest}");
            yield return ("backslash /x\\..", $"/{first}/x\\..{rest}");
        }
    }

    private sealed record Protected(string Method, string Path, bool Admin);
}
