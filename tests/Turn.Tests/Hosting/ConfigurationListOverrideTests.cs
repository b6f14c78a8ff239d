using System.Text;
using Microsoft.Extensions.Configuration;
using Turn.Hosting;
using Xunit;
using Turn.Configuration;

namespace Turn.Tests.Hosting;

/// <summary>
/// A list set in the file and again in the environment is the environment's, whole: no item of the
/// file's list survives, whether the variable is comma-separated, indexed (KEY__0) or empty. One
/// case per list key. The environment here is the real one, under a prefix no other test uses.
/// </summary>
public sealed class ConfigurationListOverrideTests
{
    public static TheoryData<string, string[], string> Lists => new()
    {
        { "Listen:Addresses", ["127.0.0.1", "::1"], "127.0.0.2" },
        { "Listen:Transports", ["udp", "tls"], "tcp" },
        { "Auth:Users", ["alice:alice-password", "bob:bob-password"], "x:x-password" },
        { "Auth:Secrets", ["first-secret-0123456789", "second-secret-0123456789"], "third-secret-0123456789" },
        { "Relay:Addresses", ["127.0.0.1"], "127.0.0.3" },
        { "Relay:ExternalAddresses", ["203.0.113.7", "2001:db8::7"], "198.51.100.7" },
        { "Relay:DeniedPeers", ["10.0.0.0/8", "fd00::/8"], "192.0.2.0/24" },
        { "Relay:RemoveBuiltInDeniedPeers", ["10.0.0.0/8", "172.16.0.0/12"], "192.168.0.0/16" },
        { "Relay:AllowedPeers", ["10.1.0.0/16", "10.2.0.0/16"], "10.3.0.0/16" },
        { "Http:Urls", ["http://127.0.0.1:8080", "http://[::1]:8080"], "http://127.0.0.1:9090" },
        { "Metrics:Urls", ["http://127.0.0.1:9641", "http://[::1]:9641"], "http://127.0.0.1:9642" },
        { "Signal:AllowedOrigins", ["https://a.example", "https://b.example"], "https://c.example" },
        { "Ice:Urls", ["turn:a.example:3478", "turns:a.example:5349"], "turn:c.example:3478" },
    };

    [Theory]
    [MemberData(nameof(Lists))]
    public void CommaSeparatedVariable_ReplacesTheFilesWholeList(string key, string[] inFile, string inEnvironment)
    {
        ConfigEntry entry = Read(key, inFile, (Variable(key), inEnvironment));

        Assert.StartsWith("environment TURN_" + key.Replace(":", "__", StringComparison.Ordinal), entry.Source, StringComparison.Ordinal);
        Assert.Equal(Shown(key, inEnvironment), entry.Value);
        foreach (string item in inFile)
        {
            Assert.DoesNotContain(item, entry.Value, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Lists))]
    public void IndexedVariable_ReplacesTheFilesWholeList_NotJustItsItem(string key, string[] inFile, string inEnvironment)
    {
        ConfigEntry entry = Read(key, inFile, (Variable(key) + "__0", inEnvironment));

        Assert.StartsWith("environment", entry.Source, StringComparison.Ordinal);
        Assert.Equal(Shown(key, inEnvironment), entry.Value);
        Assert.DoesNotContain(inFile[^1], entry.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void TypedOptions_FollowTheReplacement()
    {
        string prefix = Prefix();
        using var file = new MemoryStream(Encoding.UTF8.GetBytes("""{ "Listen": { "Addresses": [ "127.0.0.1", "::1" ] }, "Auth": { "Users": [ "alice:alice-password" ] } }"""));
        Environment.SetEnvironmentVariable(prefix + "Listen__Addresses", "127.0.0.2");
        Environment.SetEnvironmentVariable(prefix + "Auth__Users", "x:x-password,y:y-password");
        try
        {
            IConfigurationRoot configuration = new ConfigurationBuilder().AddJsonStream(file).AddEnvironmentVariables(prefix).Build();

            ValidationResult result = TurnOptionsReader.Read(configuration);

            Assert.True(result.IsValid, string.Join("\n", result.Errors));
            Assert.Equal([System.Net.IPAddress.Parse("127.0.0.2")], result.Options.Listen.Addresses);
            Assert.Equal(["x", "y"], result.Options.Auth.Users.Keys.Order());
            Assert.DoesNotContain(result.Entries, e => e.Value.Contains("password", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "Listen__Addresses", null);
            Environment.SetEnvironmentVariable(prefix + "Auth__Users", null);
        }
    }

    /// <summary>
    /// What `turn check-config --show` prints of a list holding only <paramref name="item"/>: the
    /// item itself, but a user without the password and a secret masked whole. A list emptied
    /// instead of replaced would print "[]".
    /// </summary>
    private static string Shown(string key, string item) => key switch
    {
        "Auth:Users" => $"[{item[..item.IndexOf(':', StringComparison.Ordinal)]}:********]",
        "Auth:Secrets" => "[********]",
        _ => $"[{item}]",
    };

    private static string Variable(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static string Prefix() => $"TURNLISTTEST{Guid.NewGuid():N}_";

    /// <summary>Reads a configuration whose file sets <paramref name="key"/> to <paramref name="inFile"/> and whose environment sets one variable.</summary>
    private static ConfigEntry Read(string key, string[] inFile, (string Name, string Value) variable)
    {
        string prefix = Prefix();
        string[] path = key.Split(':');
        string json = $$"""{ "{{path[0]}}": { "{{path[1]}}": [ {{string.Join(", ", inFile.Select(i => $"\"{i}\""))}} ] } }""";
        using var file = new MemoryStream(Encoding.UTF8.GetBytes(json));
        Environment.SetEnvironmentVariable(prefix + variable.Name, variable.Value);
        try
        {
            IConfigurationRoot configuration = new ConfigurationBuilder().AddJsonStream(file).AddEnvironmentVariables(prefix).Build();
            ValidationResult result = TurnOptionsReader.Read(configuration);
            Assert.DoesNotContain(result.Errors, e => e.StartsWith(key, StringComparison.Ordinal));
            return Assert.Single(result.Entries, e => e.Key == key);
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + variable.Name, null);
        }
    }
}
