using Microsoft.Extensions.Configuration;

namespace Turn.Configuration;

/// <summary>
/// Configuration sources in order of precedence: built-in defaults (in the option records), the
/// JSON file when one is given, then environment variables prefixed TURN_ with "__" between
/// levels (TURN_Listen__UdpPort=3479), so a container can override any key.
/// </summary>
internal static class TurnConfiguration
{
    public const string EnvironmentPrefix = "TURN_";

    public static IConfigurationRoot Build(string? configFile)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        return builder.Build();
    }

    /// <summary>Reads and validates; a file that is missing or not JSON is reported like any other problem.</summary>
    public static ValidationResult Load(string? configFile, out IConfigurationRoot? configuration)
    {
        configuration = null;
        if (configFile is not null && !File.Exists(configFile))
        {
            return new ValidationResult(new TurnOptions(), [$"--config: \"{configFile}\" does not exist"]);
        }

        try
        {
            configuration = Build(configFile);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or System.Text.Json.JsonException)
        {
            string reason = e.InnerException?.Message ?? e.Message;
            return new ValidationResult(new TurnOptions(), [$"--config: \"{configFile}\" is not valid JSON: {reason}"]);
        }

        return TurnOptionsReader.Read(configuration);
    }
}
