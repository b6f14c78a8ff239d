using System.Text;
using System.Text.Json;

namespace Turn.Signal;

/// <summary>
/// The fields of one client message that the server reads; "data" and "meta" stay raw JSON so
/// they are passed on without being parsed into objects.
/// </summary>
internal ref struct ClientMessage
{
    public string? Type;
    public string? Id;
    public string? Room;
    public string? To;
    public string? Name;
    public string? Token;
    public string? Resume;
    public ReadOnlySpan<byte> Data;
    public ReadOnlySpan<byte> Meta;

    /// <summary>Reads a top-level JSON object; false (with a reason) when it is not valid JSON or not an object.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ClientMessage message, out string problem)
    {
        message = default;
        problem = "";
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 32 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "a message is a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string property = reader.GetString()!;
                reader.Read();
                switch (property)
                {
                    case "type": message.Type = ReadString(ref reader); break;
                    case "id": message.Id = ReadString(ref reader); break;
                    case "room": message.Room = ReadString(ref reader); break;
                    case "to": message.To = ReadString(ref reader); break;
                    case "name": message.Name = ReadString(ref reader); break;
                    case "token": message.Token = ReadString(ref reader); break;
                    case "resume": message.Resume = ReadString(ref reader); break;
                    case "data": message.Data = ReadRaw(ref reader, utf8); break;
                    case "meta": message.Meta = ReadRaw(ref reader, utf8); break;
                    default: reader.Skip(); break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                problem = "trailing content after the JSON object";
                return false;
            }

            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // GetString throws InvalidOperationException, not JsonException, on invalid UTF-8 and on
            // a \u escape that is half a surrogate pair ("\ud800"): still bad JSON text.
            problem = e.Message;
            return false;
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.Number)
        {
            // A numeric correlation id is as good as a string one.
            return Encoding.UTF8.GetString(reader.ValueSpan);
        }

        reader.Skip();
        throw new JsonException("expected a string");
    }

    private static ReadOnlySpan<byte> ReadRaw(scoped ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8)
    {
        int start = (int)reader.TokenStartIndex;
        reader.Skip();
        int end = (int)reader.BytesConsumed;
        return utf8[start..end];
    }

    public readonly override string ToString() => $"{Type} to={To} room={Room} data={Encoding.UTF8.GetString(Data)}";
}
