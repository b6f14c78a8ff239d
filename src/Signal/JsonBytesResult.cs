using Microsoft.AspNetCore.Http;

namespace Turn.Signal;

/// <summary>
/// An HTTP answer whose JSON body was written without reflection (Utf8JsonWriter, JsonNode), so
/// the daemon also runs as a Native AOT build.
/// </summary>
public sealed class JsonBytesResult(byte[] utf8, int statusCode = StatusCodes.Status200OK) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = utf8.Length;
        return httpContext.Response.Body.WriteAsync(utf8).AsTask();
    }
}
