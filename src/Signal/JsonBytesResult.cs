using Microsoft.AspNetCore.Http;

namespace Turn.Signal;

/// <summary>
/// An HTTP answer whose JSON body was written without reflection (Utf8JsonWriter, JsonNode), so
/// the daemon also runs as a Native AOT build.
/// </summary>
public sealed class JsonBytesResult(byte[] utf8, int statusCode = StatusCodes.Status200OK, string contentType = "application/json; charset=utf-8") : IResult
{
    /// <summary>A problem document (RFC 9457) with the status and what was wrong.</summary>
    public static JsonBytesResult Problem(int statusCode, string detail)
        => new(SignalMessages.Problem(statusCode, detail), statusCode, "application/problem+json");

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = contentType;
        httpContext.Response.ContentLength = utf8.Length;
        return httpContext.Response.Body.WriteAsync(utf8).AsTask();
    }
}
