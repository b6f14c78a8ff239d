using System.Text.Json;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>One message the server sent, as text and as parsed JSON.</summary>
internal sealed class ServerMessage
{
    /// <summary>What <see cref="Type"/> says when the server sent something that is not a JSON object.</summary>
    public const string NotJson = "!not-json";

    public ServerMessage(string raw)
    {
        Raw = raw;
        try
        {
            using JsonDocument document = JsonDocument.Parse(raw);
            Root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            Type = NotJson;
            return;
        }

        Type = Root.ValueKind == JsonValueKind.Object && Root.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()!
            : NotJson;
    }

    public string Raw { get; }

    public JsonElement Root { get; }

    public string Type { get; }

    public bool Has(string property) => Root.TryGetProperty(property, out _);

    public JsonElement Get(string property)
    {
        Assert.True(Root.TryGetProperty(property, out JsonElement value), $"\"{property}\" is missing from {Raw}");
        return value;
    }

    public string Str(string property)
    {
        JsonElement value = Get(property);
        Assert.True(value.ValueKind == JsonValueKind.String, $"\"{property}\" is not a string in {Raw}");
        return value.GetString()!;
    }

    /// <summary>The "data" of a relayed message exactly as it came on the wire.</summary>
    public string DataText => Get("data").GetRawText();

    public override string ToString() => Raw;
}
