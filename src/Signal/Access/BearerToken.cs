using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Turn.Signal.Access;

/// <summary>The Bearer credential of a request (RFC 6750 §2.1; the scheme name is case-insensitive, RFC 7235 §2.1).</summary>
public static class BearerToken
{
    public static string? From(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.Length > scheme.Length && header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? header[scheme.Length..].Trim()
            : null;
    }

    /// <summary>Whether the request carries exactly <paramref name="key"/>, compared in constant time.</summary>
    public static bool Carries(HttpRequest request, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        string? given = From(request);
        return given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key));
    }
}
