// A lamp that shows the village's "when to consume" signal (regie, docs/signal.md).
//
// An ESP32 subscribes to the retained MQTT topic regie/<territory>/signal that `regie signal publish` writes every
// half-hour, and lights an RGB LED: green (the village is expected to produce more than it uses), orange (tight),
// red (the village imports), a dim white when the signal is unknown. The message is one line:
//
//   REGIE-SIGNAL/1 <territory> <start> <step> <issued> <letters>
//
// <start>, <issued>: UTC seconds; <step>: seconds; <letters>: one per step from <start>, G O R or U. The lamp
// picks the letter of the current step with the time from NTP, so it stays right between two messages and
// shows U (unknown) once the letters run out (regie stopped publishing for 36 hours).
//
// Libraries: the ESP32 Arduino core (WiFi, time) and PubSubClient (Nick O'Leary). Wiring: a common-cathode RGB LED
// on LED_RED, LED_GREEN, LED_BLUE through 220 ohm resistors. Fill in the four settings below.

#include <WiFi.h>
#include <PubSubClient.h>
#include <time.h>

const char* WIFI_SSID = "your-network";
const char* WIFI_PASSWORD = "your-password";
const char* MQTT_HOST = "192.168.1.10";  // the broker regie publishes to (REGIE_MQTT_HOST)
const char* MQTT_TOPIC = "regie/prats-de-mollo/signal";  // REGIE_SIGNAL_MQTT_TOPIC with the territory's id
const uint16_t MQTT_PORT = 1883;

const int LED_RED = 25, LED_GREEN = 26, LED_BLUE = 27;

WiFiClient net;
PubSubClient mqtt(net);

// The last line received, parsed.
long signalStart = 0;
long signalStep = 0;
String signalLetters = "";

void setColour(int r, int g, int b) {
  analogWrite(LED_RED, r);
  analogWrite(LED_GREEN, g);
  analogWrite(LED_BLUE, b);
}

// Parses "REGIE-SIGNAL/1 <territory> <start> <step> <issued> <letters>"; false if the line is not one.
bool parseSignal(const String& line) {
  String field[6];
  int from = 0;
  for (int i = 0; i < 6; i++) {
    int space = line.indexOf(' ', from);
    if (i < 5 && space < 0) return false;
    field[i] = (i < 5) ? line.substring(from, space) : line.substring(from);
    from = space + 1;
  }
  if (field[0] != "REGIE-SIGNAL/1") return false;
  field[5].trim();
  signalStart = field[2].toInt();
  signalStep = field[3].toInt();
  signalLetters = field[5];
  return signalStep > 0;
}

char currentLetter() {
  if (signalLetters.length() == 0) return 'U';
  time_t now = time(nullptr);
  if (now < 1700000000) return signalLetters[0];  // no NTP time yet: the first step is "now" when published
  long i = (long)(now - signalStart) / signalStep;
  if (i < 0 || i >= (long)signalLetters.length()) return 'U';
  return signalLetters[i];
}

void show(char letter) {
  switch (letter) {
    case 'G': setColour(0, 255, 0); break;
    case 'O': setColour(255, 90, 0); break;
    case 'R': setColour(255, 0, 0); break;
    default: setColour(20, 20, 20); break;  // unknown: a dim white, so the lamp is visibly alive
  }
}

void onMessage(char* topic, byte* payload, unsigned int length) {
  String line;
  line.reserve(length);
  for (unsigned int i = 0; i < length; i++) line += (char)payload[i];
  if (length == 0) {  // the retained message was cleared
    signalLetters = "";
  } else if (!parseSignal(line)) {
    Serial.println("not a REGIE-SIGNAL/1 line: " + line);
  }
  show(currentLetter());
}

void connectMqtt() {
  while (!mqtt.connected()) {
    String id = "regie-lamp-" + String((uint32_t)ESP.getEfuseMac(), HEX);
    if (mqtt.connect(id.c_str())) {
      mqtt.subscribe(MQTT_TOPIC, 1);  // retained: the broker sends the current signal at once
    } else {
      delay(5000);
    }
  }
}

void setup() {
  Serial.begin(115200);
  pinMode(LED_RED, OUTPUT);
  pinMode(LED_GREEN, OUTPUT);
  pinMode(LED_BLUE, OUTPUT);
  show('U');
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) delay(500);
  configTime(0, 0, "pool.ntp.org");  // UTC: the signal's instants are UTC seconds
  mqtt.setServer(MQTT_HOST, MQTT_PORT);
  mqtt.setBufferSize(512);  // a line is about 130 bytes; PubSubClient's default buffer is 256 with the topic
  mqtt.setCallback(onMessage);
}

void loop() {
  if (WiFi.status() != WL_CONNECTED) {
    WiFi.reconnect();
    delay(1000);
    return;
  }
  connectMqtt();
  mqtt.loop();
  static unsigned long lastShown = 0;
  if (millis() - lastShown > 10000) {  // the step changes every half-hour: check every 10 s
    show(currentLetter());
    lastShown = millis();
  }
}
