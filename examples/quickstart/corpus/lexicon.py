"""Lexicon of the quickstart corpus: a German-like source and an English target.

Every table is a plain string parsed once at import, in a fixed order, so the
generator that draws from it is deterministic for a seed.
"""

# Nouns: de_sg | gender | de_pl | oblique sg of weak nouns ("-" if none) | en_sg | en_pl | tags
# Tags select which verbs and prepositions a noun goes with.
_NOUNS = """
Mann|m|Männer|-|man|men|per
Frau|f|Frauen|-|woman|women|per
Kind|n|Kinder|-|child|children|per
Junge|m|Jungen|Jungen|boy|boys|per
Mädchen|n|Mädchen|-|girl|girls|per
Vater|m|Väter|-|father|fathers|per
Mutter|f|Mütter|-|mother|mothers|per
Bruder|m|Brüder|-|brother|brothers|per
Schwester|f|Schwestern|-|sister|sisters|per
Freund|m|Freunde|-|friend|friends|per
Freundin|f|Freundinnen|-|girlfriend|girlfriends|per
Lehrer|m|Lehrer|-|teacher|teachers|per
Lehrerin|f|Lehrerinnen|-|teacher|teachers|per
Arzt|m|Ärzte|-|doctor|doctors|per
Ärztin|f|Ärztinnen|-|doctor|doctors|per
Student|m|Studenten|Studenten|student|students|per
Studentin|f|Studentinnen|-|student|students|per
Nachbar|m|Nachbarn|Nachbarn|neighbour|neighbours|per
Nachbarin|f|Nachbarinnen|-|neighbour|neighbours|per
Koch|m|Köche|-|cook|cooks|per
Bauer|m|Bauern|Bauern|farmer|farmers|per
Polizist|m|Polizisten|Polizisten|police officer|police officers|per
Verkäufer|m|Verkäufer|-|shop assistant|shop assistants|per
Oma|f|Omas|-|grandma|grandmas|per
Opa|m|Opas|-|grandpa|grandpas|per
Sohn|m|Söhne|-|son|sons|per
Tochter|f|Töchter|-|daughter|daughters|per
Onkel|m|Onkel|-|uncle|uncles|per
Tante|f|Tanten|-|aunt|aunts|per
Baby|n|Babys|-|baby|babies|per
Chef|m|Chefs|-|boss|bosses|per
Kellner|m|Kellner|-|waiter|waiters|per
Sänger|m|Sänger|-|singer|singers|per
Fahrer|m|Fahrer|-|driver|drivers|per
Gast|m|Gäste|-|guest|guests|per
König|m|Könige|-|king|kings|per
Königin|f|Königinnen|-|queen|queens|per
Prinz|m|Prinzen|Prinzen|prince|princes|per
Soldat|m|Soldaten|Soldaten|soldier|soldiers|per
Maler|m|Maler|-|painter|painters|per
Bäcker|m|Bäcker|-|baker|bakers|per
Schüler|m|Schüler|-|pupil|pupils|per
Hund|m|Hunde|-|dog|dogs|ani
Katze|f|Katzen|-|cat|cats|ani
Pferd|n|Pferde|-|horse|horses|ani
Vogel|m|Vögel|-|bird|birds|ani
Kuh|f|Kühe|-|cow|cows|ani
Maus|f|Mäuse|-|mouse|mice|ani
Bär|m|Bären|Bären|bear|bears|ani
Schwein|n|Schweine|-|pig|pigs|ani
Schaf|n|Schafe|-|sheep|sheep|ani
Hase|m|Hasen|Hasen|hare|hares|ani
Ente|f|Enten|-|duck|ducks|ani
Huhn|n|Hühner|-|chicken|chickens|ani
Affe|m|Affen|Affen|monkey|monkeys|ani
Löwe|m|Löwen|Löwen|lion|lions|ani
Elefant|m|Elefanten|Elefanten|elephant|elephants|ani
Frosch|m|Frösche|-|frog|frogs|ani
Wolf|m|Wölfe|-|wolf|wolves|ani
Fuchs|m|Füchse|-|fox|foxes|ani
Ziege|f|Ziegen|-|goat|goats|ani
Esel|m|Esel|-|donkey|donkeys|ani
Schlange|f|Schlangen|-|snake|snakes|ani
Fisch|m|Fische|-|fish|fish|ani
Apfel|m|Äpfel|-|apple|apples|food
Brot|n|Brote|-|loaf|loaves|food,bake
Kuchen|m|Kuchen|-|cake|cakes|food,bake
Suppe|f|Suppen|-|soup|soups|food,cook
Käse|m|Käse|-|cheese|cheeses|food
Ei|n|Eier|-|egg|eggs|food,cook
Banane|f|Bananen|-|banana|bananas|food
Tomate|f|Tomaten|-|tomato|tomatoes|food
Wurst|f|Würste|-|sausage|sausages|food,cook
Kartoffel|f|Kartoffeln|-|potato|potatoes|food,cook
Birne|f|Birnen|-|pear|pears|food
Orange|f|Orangen|-|orange|oranges|food
Kirsche|f|Kirschen|-|cherry|cherries|food
Keks|m|Kekse|-|biscuit|biscuits|food,bake
Pizza|f|Pizzen|-|pizza|pizzas|food,bake
Salat|m|Salate|-|salad|salads|food
Karotte|f|Karotten|-|carrot|carrots|food,cook
Erdbeere|f|Erdbeeren|-|strawberry|strawberries|food
Kaffee|m|Kaffees|-|coffee|coffees|drink
Tee|m|Tees|-|tea|teas|drink
Saft|m|Säfte|-|juice|juices|drink
Bier|n|Biere|-|beer|beers|drink
Wein|m|Weine|-|wine|wines|drink
Limonade|f|Limonaden|-|lemonade|lemonades|drink
Buch|n|Bücher|-|book|books|thing,read
Brief|m|Briefe|-|letter|letters|thing,read,open
Zeitung|f|Zeitungen|-|newspaper|newspapers|thing,read
Geschichte|f|Geschichten|-|story|stories|read,tell
Lied|n|Lieder|-|song|songs|hear
Tisch|m|Tische|-|table|tables|thing,furn,build
Stuhl|m|Stühle|-|chair|chairs|thing,furn,build
Bett|n|Betten|-|bed|beds|thing,furn,build
Sofa|n|Sofas|-|sofa|sofas|thing,furn
Schrank|m|Schränke|-|cupboard|cupboards|thing,furn,open
Tür|f|Türen|-|door|doors|open
Fenster|n|Fenster|-|window|windows|open
Auto|n|Autos|-|car|cars|thing,veh
Fahrrad|n|Fahrräder|-|bike|bikes|thing,veh
Ball|m|Bälle|-|ball|balls|thing,throw
Tasche|f|Taschen|-|bag|bags|thing,open
Schlüssel|m|Schlüssel|-|key|keys|thing
Lampe|f|Lampen|-|lamp|lamps|thing
Bild|n|Bilder|-|picture|pictures|thing,paint
Uhr|f|Uhren|-|watch|watches|thing
Computer|m|Computer|-|computer|computers|thing
Telefon|n|Telefone|-|phone|phones|thing
Geschenk|n|Geschenke|-|present|presents|thing,open
Hut|m|Hüte|-|hat|hats|thing,wear
Schuh|m|Schuhe|-|shoe|shoes|thing,wear
Jacke|f|Jacken|-|jacket|jackets|thing,wear
Kleid|n|Kleider|-|dress|dresses|thing,wear
Mantel|m|Mäntel|-|coat|coats|thing,wear
Flasche|f|Flaschen|-|bottle|bottles|thing,open
Glas|n|Gläser|-|glass|glasses|thing
Tasse|f|Tassen|-|cup|cups|thing
Teller|m|Teller|-|plate|plates|thing
Messer|n|Messer|-|knife|knives|thing
Löffel|m|Löffel|-|spoon|spoons|thing
Kiste|f|Kisten|-|box|boxes|thing,open,build
Stift|m|Stifte|-|pen|pens|thing
Heft|n|Hefte|-|notebook|notebooks|thing
Karte|f|Karten|-|map|maps|thing,read
Koffer|m|Koffer|-|suitcase|suitcases|thing,open
Regenschirm|m|Regenschirme|-|umbrella|umbrellas|thing
Spiegel|m|Spiegel|-|mirror|mirrors|thing
Kerze|f|Kerzen|-|candle|candles|thing
Blume|f|Blumen|-|flower|flowers|thing,paint
Baum|m|Bäume|-|tree|trees|paint
Stein|m|Steine|-|stone|stones|thing,throw
Puppe|f|Puppen|-|doll|dolls|thing
Foto|n|Fotos|-|photo|photos|thing
Ring|m|Ringe|-|ring|rings|thing
Rucksack|m|Rucksäcke|-|backpack|backpacks|thing,open
Film|m|Filme|-|film|films|see
Zug|m|Züge|-|train|trains|veh
Bus|m|Busse|-|bus|buses|veh
Schiff|n|Schiffe|-|ship|ships|veh
Boot|n|Boote|-|boat|boats|veh,build
Haus|n|Häuser|-|house|houses|place,build,clean
Garten|m|Gärten|-|garden|gardens|place,clean
Schule|f|Schulen|-|school|schools|place
Stadt|f|Städte|-|city|cities|place
Park|m|Parks|-|park|parks|place
Wald|m|Wälder|-|forest|forests|place
Küche|f|Küchen|-|kitchen|kitchens|place,clean
Bahnhof|m|Bahnhöfe|-|station|stations|place
Kirche|f|Kirchen|-|church|churches|place
Markt|m|Märkte|-|market|markets|place
Bäckerei|f|Bäckereien|-|bakery|bakeries|place
Bibliothek|f|Bibliotheken|-|library|libraries|place
Büro|n|Büros|-|office|offices|place,clean
Restaurant|n|Restaurants|-|restaurant|restaurants|place
Krankenhaus|n|Krankenhäuser|-|hospital|hospitals|place
Zimmer|n|Zimmer|-|room|rooms|place,clean
Dorf|n|Dörfer|-|village|villages|place
Supermarkt|m|Supermärkte|-|supermarket|supermarkets|place
Museum|n|Museen|-|museum|museums|place
Hotel|n|Hotels|-|hotel|hotels|place
Kino|n|Kinos|-|cinema|cinemas|place
Zoo|m|Zoos|-|zoo|zoos|place
Schwimmbad|n|Schwimmbäder|-|swimming pool|swimming pools|place
"""

# Adjectives: de (predicative) | inflection stem | en | tags (any / anim / inan)
_ADJECTIVES = """
groß|groß|big|any
klein|klein|small|any
alt|alt|old|any
jung|jung|young|anim
neu|neu|new|inan
rot|rot|red|inan
blau|blau|blue|inan
grün|grün|green|inan
gelb|gelb|yellow|inan
schwarz|schwarz|black|any
weiß|weiß|white|any
braun|braun|brown|any
schön|schön|beautiful|any
hässlich|hässlich|ugly|any
gut|gut|good|any
schlecht|schlecht|bad|any
lang|lang|long|inan
kurz|kurz|short|inan
warm|warm|warm|inan
kalt|kalt|cold|inan
heiß|heiß|hot|inan
müde|müd|tired|anim
glücklich|glücklich|happy|anim
traurig|traurig|sad|anim
hungrig|hungrig|hungry|anim
durstig|durstig|thirsty|anim
krank|krank|ill|anim
klug|klug|clever|anim
freundlich|freundlich|friendly|anim
laut|laut|loud|any
leise|leis|quiet|any
schnell|schnell|fast|any
langsam|langsam|slow|any
teuer|teur|expensive|inan
billig|billig|cheap|inan
frisch|frisch|fresh|inan
süß|süß|sweet|any
schwer|schwer|heavy|inan
leicht|leicht|light|inan
voll|voll|full|inan
leer|leer|empty|inan
sauber|sauber|clean|any
schmutzig|schmutzig|dirty|any
dunkel|dunkl|dark|inan
lustig|lustig|funny|anim
nett|nett|nice|anim
stark|stark|strong|anim
reich|reich|rich|anim
arm|arm|poor|anim
wild|wild|wild|anim
ruhig|ruhig|calm|anim
interessant|interessant|interesting|inan
langweilig|langweilig|boring|inan
wichtig|wichtig|important|inan
kaputt|kaputt|broken|inan
"""

# Verbs: inf | separable prefix | present forms (6, comma separated) or "-" (regular)
#   | participle | perfect auxiliary (h/s) | du-imperative or "-" | en base | en 3sg | en past
#   | en particle ("-" if none) | frame | object tags / frame argument | subject tags
# Frames: I intransitive, L needs a location, M motion (needs a direction), T transitive,
#   D ditransitive (dative person + accusative thing), DT ditransitive rendered "X to Y",
#   DAT dative object, G dative experiencer (subject and object swap in English),
#   P:<prep>:<case>:<en prep> prepositional object, S that-clause, Q whether-clause.
_VERBS = """
schlafen|-|schlafe,schläfst,schläft,schlafen,schlaft,schlafen|geschlafen|h|schlaf|sleep|sleeps|slept|-|I|-|per,ani
arbeiten|-|-|gearbeitet|h|-|work|works|worked|-|I|-|per
lachen|-|-|gelacht|h|-|laugh|laughs|laughed|-|I|-|per
weinen|-|-|geweint|h|-|cry|cries|cried|-|I|-|per
singen|-|-|gesungen|h|-|sing|sings|sang|-|I|-|per,ani
tanzen|-|-|getanzt|h|-|dance|dances|danced|-|I|-|per
spielen|-|-|gespielt|h|-|play|plays|played|-|I|-|per,ani
schwimmen|-|-|geschwommen|h|-|swim|swims|swam|-|I|-|per,ani
warten|-|-|gewartet|h|-|wait|waits|waited|-|I|-|per,ani
sitzen|-|-|gesessen|h|-|sit|sits|sat|-|L|-|per,ani
stehen|-|-|gestanden|h|-|stand|stands|stood|-|L|-|per,ani
liegen|-|-|gelegen|h|-|lie|lies|lay|-|L|-|per,ani,thing
wohnen|-|-|gewohnt|h|-|live|lives|lived|-|L|-|per,ani
bleiben|-|-|geblieben|s|-|stay|stays|stayed|-|L|-|per,ani
schreien|-|-|geschrien|h|-|shout|shouts|shouted|-|I|-|per
lernen|-|-|gelernt|h|-|study|studies|studied|-|I|-|per
gehen|-|-|gegangen|s|-|go|goes|went|-|M|-|per,ani
kommen|-|-|gekommen|s|-|come|comes|came|-|M|-|per,ani
fahren|-|fahre,fährst,fährt,fahren,fahrt,fahren|gefahren|s|fahr|go|goes|went|-|M|-|per
laufen|-|laufe,läufst,läuft,laufen,lauft,laufen|gelaufen|s|lauf|run|runs|ran|-|M|-|per,ani
fliegen|-|-|geflogen|s|-|fly|flies|flew|-|M|-|per,ani
zurückkommen|zurück|-|zurückgekommen|s|-|come|comes|came|back|M|-|per,ani
ankommen|an|-|angekommen|s|-|arrive|arrives|arrived|-|L|-|per,veh
abfahren|ab|fahre,fährst,fährt,fahren,fahrt,fahren|abgefahren|s|fahr|leave|leaves|left|-|I|-|per,veh
aufstehen|auf|-|aufgestanden|s|-|get|gets|got|up|I|-|per
einschlafen|ein|schlafe,schläfst,schläft,schlafen,schlaft,schlafen|eingeschlafen|s|schlaf|fall|falls|fell|asleep|I|-|per,ani
einkaufen|ein|-|eingekauft|h|-|go|goes|went|shopping|I|-|per
fernsehen|fern|sehe,siehst,sieht,sehen,seht,sehen|ferngesehen|h|sieh|watch|watches|watched|TV|I|-|per
sehen|-|sehe,siehst,sieht,sehen,seht,sehen|gesehen|h|sieh|see|sees|saw|-|T|per,ani,thing,place,veh,see|per,ani
essen|-|esse,isst,isst,essen,esst,essen|gegessen|h|iss|eat|eats|ate|-|T|food|per,ani
trinken|-|-|getrunken|h|-|drink|drinks|drank|-|T|drink|per,ani
kaufen|-|-|gekauft|h|-|buy|buys|bought|-|T|food,drink,thing,ani,wear,veh|per
verkaufen|-|-|verkauft|h|-|sell|sells|sold|-|T|food,thing,ani,veh,place|per
lesen|-|lese,liest,liest,lesen,lest,lesen|gelesen|h|lies|read|reads|read|-|T|read|per
schreiben|-|-|geschrieben|h|-|write|writes|wrote|-|T|read,tell,hear|per
suchen|-|-|gesucht|h|-|look|looks|looked|for|T|thing,per,ani,wear|per,ani
finden|-|-|gefunden|h|-|find|finds|found|-|T|thing,per,ani,wear|per,ani
brauchen|-|-|gebraucht|h|-|need|needs|needed|-|T|thing,food,drink,wear,veh|per,ani
mögen|-|mag,magst,mag,mögen,mögt,mögen|gemocht|h|-|like|likes|liked|-|T|per,ani,food,drink,thing,see,hear,read|per,ani
lieben|-|-|geliebt|h|-|love|loves|loved|-|T|per,ani,food|per,ani
besuchen|-|-|besucht|h|-|visit|visits|visited|-|T|per,place|per
kochen|-|-|gekocht|h|-|cook|cooks|cooked|-|T|cook|per
backen|-|-|gebacken|h|-|bake|bakes|baked|-|T|bake|per
öffnen|-|-|geöffnet|h|-|open|opens|opened|-|T|open|per
schließen|-|-|geschlossen|h|-|close|closes|closed|-|T|open|per
tragen|-|trage,trägst,trägt,tragen,tragt,tragen|getragen|h|trag|carry|carries|carried|-|T|thing,per,ani|per,ani
waschen|-|wasche,wäschst,wäscht,waschen,wascht,waschen|gewaschen|h|wasch|wash|washes|washed|-|T|thing,ani,veh,wear|per
malen|-|-|gemalt|h|-|paint|paints|painted|-|T|paint,per,ani,place|per
bauen|-|-|gebaut|h|-|build|builds|built|-|T|build|per,ani
holen|-|-|geholt|h|-|fetch|fetches|fetched|-|T|thing,food,drink,per|per,ani
fragen|-|-|gefragt|h|-|ask|asks|asked|-|T|per|per
hören|-|-|gehört|h|-|hear|hears|heard|-|T|hear,per,ani|per,ani
treffen|-|treffe,triffst,trifft,treffen,trefft,treffen|getroffen|h|triff|meet|meets|met|-|T|per|per
verstehen|-|-|verstanden|h|-|understand|understands|understood|-|T|per,read|per
vergessen|-|vergesse,vergisst,vergisst,vergessen,vergesst,vergessen|vergessen|h|vergiss|forget|forgets|forgot|-|T|thing,wear,read|per
verlieren|-|-|verloren|h|-|lose|loses|lost|-|T|thing,wear|per
fangen|-|fange,fängst,fängt,fangen,fangt,fangen|gefangen|h|fang|catch|catches|caught|-|T|ani,throw|per,ani
werfen|-|werfe,wirfst,wirft,werfen,werft,werfen|geworfen|h|wirf|throw|throws|threw|-|T|throw|per
reparieren|-|-|repariert|h|-|repair|repairs|repaired|-|T|thing,veh,furn|per
putzen|-|-|geputzt|h|-|clean|cleans|cleaned|-|T|clean,thing,veh|per
füttern|-|füttere,fütterst,füttert,füttern,füttert,füttern|gefüttert|h|füttere|feed|feeds|fed|-|T|ani,per|per
rufen|-|-|gerufen|h|-|call|calls|called|-|T|per,ani|per
kennen|-|-|gekannt|h|-|know|knows|knew|-|T|per,place|per
zeichnen|-|-|gezeichnet|h|-|draw|draws|drew|-|T|paint,per,ani,thing|per
bestellen|-|-|bestellt|h|-|order|orders|ordered|-|T|food,drink|per
nehmen|-|nehme,nimmst,nimmt,nehmen,nehmt,nehmen|genommen|h|nimm|take|takes|took|-|T|thing,food,drink,wear|per,ani
haben|-|habe,hast,hat,haben,habt,haben|gehabt|h|hab|have|has|had|-|T|per,ani,thing,veh,wear|per,ani
anrufen|an|-|angerufen|h|-|phone|phones|phoned|-|T|per|per
aufmachen|auf|-|aufgemacht|h|-|open|opens|opened|-|T|open|per
zumachen|zu|-|zugemacht|h|-|shut|shuts|shut|-|T|open|per
einladen|ein|lade,lädst,lädt,laden,ladet,laden|eingeladen|h|lade|invite|invites|invited|-|T|per|per
abholen|ab|-|abgeholt|h|-|pick|picks|picked|up|T|per,thing|per
anziehen|an|-|angezogen|h|-|put|puts|put|on|T|wear|per
aufräumen|auf|-|aufgeräumt|h|-|tidy|tidies|tidied|up|T|clean|per
mitbringen|mit|-|mitgebracht|h|-|bring|brings|brought|along|T|food,drink,thing,per,ani|per
wegwerfen|weg|werfe,wirfst,wirft,werfen,werft,werfen|weggeworfen|h|wirf|throw|throws|threw|away|T|thing,food,wear|per
geben|-|gebe,gibst,gibt,geben,gebt,geben|gegeben|h|gib|give|gives|gave|-|D|thing,food,drink,wear|per
zeigen|-|-|gezeigt|h|-|show|shows|showed|-|D|thing,ani,read,wear|per
schenken|-|-|geschenkt|h|-|give|gives|gave|-|D|thing,wear,ani|per
bringen|-|-|gebracht|h|-|bring|brings|brought|-|D|thing,food,drink|per,ani
schicken|-|-|geschickt|h|-|send|sends|sent|-|D|read,thing|per
erzählen|-|-|erzählt|h|-|tell|tells|told|-|D|tell|per
leihen|-|-|geliehen|h|-|lend|lends|lent|-|D|thing,veh,read,wear|per
erklären|-|-|erklärt|h|-|explain|explains|explained|-|DT|read,tell|per
beschreiben|-|-|beschrieben|h|-|describe|describes|described|-|DT|thing,place,ani,see|per
helfen|-|helfe,hilfst,hilft,helfen,helft,helfen|geholfen|h|hilf|help|helps|helped|-|DAT|per,ani|per,ani
danken|-|-|gedankt|h|-|thank|thanks|thanked|-|DAT|per|per
folgen|-|-|gefolgt|s|-|follow|follows|followed|-|DAT|per,ani|per,ani
antworten|-|-|geantwortet|h|-|answer|answers|answered|-|DAT|per|per
gefallen|-|gefalle,gefällst,gefällt,gefallen,gefallt,gefallen|gefallen|h|-|like|likes|liked|-|G|per|thing,ani,see,hear,read,place,food,wear
fehlen|-|-|gefehlt|h|-|miss|misses|missed|-|G|per|per,ani,place
warten_auf|-|-|gewartet|h|-|wait|waits|waited|for|P:auf:acc|per,ani,veh|per,ani
denken|-|-|gedacht|h|-|think|thinks|thought|about|P:an:acc|per,ani,place,thing|per
sprechen|-|spreche,sprichst,spricht,sprechen,sprecht,sprechen|gesprochen|h|sprich|talk|talks|talked|to|P:mit:dat|per|per
lachen_über|-|-|gelacht|h|-|laugh|laughs|laughed|at|P:über:acc|per,ani,see|per
träumen|-|-|geträumt|h|-|dream|dreams|dreamed|of|P:von:dat|per,ani,place,food,thing|per,ani
spielen_mit|-|-|gespielt|h|-|play|plays|played|with|P:mit:dat|per,ani,throw|per,ani
aufpassen|auf|passe,passt,passt,passen,passt,passen|aufgepasst|h|pass|look|looks|looked|after|P:auf:acc|per,ani|per
sagen|-|-|gesagt|h|-|say|says|said|-|S|-|per
glauben|-|-|geglaubt|h|-|believe|believes|believed|-|S|-|per
wissen|-|weiß,weißt,weiß,wissen,wisst,wissen|gewusst|h|-|know|knows|knew|-|S|-|per
hoffen|-|-|gehofft|h|-|hope|hopes|hoped|-|S|-|per
fragen_ob|-|-|gefragt|h|-|ask|asks|asked|-|Q|-|per
"""

NAMES = [
    "Anna", "Peter", "Maria", "Thomas", "Lisa", "Paul", "Julia", "Max", "Sophie", "Jonas",
    "Laura", "Felix", "Emma", "Lukas", "Mia", "Ben", "Clara", "David", "Lena", "Tim",
]

# German city -> English city (several differ)
CITIES = [
    ("Berlin", "Berlin"), ("Hamburg", "Hamburg"), ("München", "Munich"), ("Köln", "Cologne"),
    ("Wien", "Vienna"), ("Rom", "Rome"), ("Paris", "Paris"), ("London", "London"),
    ("Prag", "Prague"), ("Zürich", "Zurich"), ("Warschau", "Warsaw"), ("Venedig", "Venice"),
]

NUMBERS = [
    ("zwei", "two"), ("drei", "three"), ("vier", "four"), ("fünf", "five"), ("sechs", "six"),
    ("sieben", "seven"), ("acht", "eight"), ("neun", "nine"), ("zehn", "ten"), ("zwölf", "twelve"),
]

# Time adverbials: German words | English words | tense class
#   pres: present only; past: past only; fut: German present, English "will"; any: present or past
TIME_ADVERBS = [
    ("heute", "today", "any"), ("jetzt", "now", "pres"), ("gestern", "yesterday", "past"),
    ("morgen", "tomorrow", "fut"), ("am Abend", "in the evening", "any"),
    ("am Morgen", "in the morning", "any"), ("am Wochenende", "at the weekend", "any"),
    ("jeden Tag", "every day", "pres"), ("letzte Woche", "last week", "past"),
    ("nächste Woche", "next week", "fut"), ("später", "later", "fut"),
    ("im Sommer", "in summer", "any"), ("im Winter", "in winter", "any"),
    ("letztes Jahr", "last year", "past"), ("heute Abend", "tonight", "fut"),
    ("am Montag", "on Monday", "any"), ("am Freitag", "on Friday", "any"),
    ("vorgestern", "the day before yesterday", "past"), ("bald", "soon", "fut"),
]

FREQ_ADVERBS = [
    ("oft", "often"), ("immer", "always"), ("nie", "never"), ("manchmal", "sometimes"),
    ("selten", "rarely"), ("meistens", "usually"),
]

# Locative prepositions (dative): German | English | noun tags they go with
LOC_PREPS = [
    ("in", "in", ("place",)), ("auf", "on", ("furn",)), ("unter", "under", ("furn", "veh")),
    ("neben", "next to", ("furn", "place", "veh", "per")), ("vor", "in front of", ("place", "veh")),
    ("hinter", "behind", ("place", "furn", "veh")),
]

# Subordinating conjunctions (verb-final clauses): German | English | tense restriction
SUB_CONJ = [
    ("weil", "because", None), ("wenn", "if", "pres"), ("obwohl", "although", None),
    ("als", "when", "past"), ("bevor", "before", None), ("nachdem", "after", "past"),
    ("während", "while", None),
]

# Coordinating conjunctions (no change of word order): German | English | comma before
COORD_CONJ = [("und", "and", False), ("aber", "but", True), ("denn", "because", True), ("oder", "or", False)]

MODALS = {
    # key: (present forms, preterite stem, en present, en past, en kind)
    "können": ("kann,kannst,kann,können,könnt,können", "konnt", "can", "could", "modal"),
    "müssen": ("muss,musst,muss,müssen,müsst,müssen", "musst", "have to", "had to", "lex"),
    "wollen": ("will,willst,will,wollen,wollt,wollen", "wollt", "want to", "wanted to", "lex"),
    "möchten": ("möchte,möchtest,möchte,möchten,möchtet,möchten", None, "would like to", None, "modal"),
    "sollen": ("soll,sollst,soll,sollen,sollt,sollen", None, "should", None, "modal"),
}


class Noun:
    __slots__ = ("de", "gender", "de_pl", "weak", "en", "en_pl", "tags")

    def __init__(self, de, gender, de_pl, weak, en, en_pl, tags):
        self.de, self.gender, self.de_pl = de, gender, de_pl
        self.weak = None if weak == "-" else weak
        self.en, self.en_pl = en, en_pl
        self.tags = tuple(tags.split(","))


class Adjective:
    __slots__ = ("de", "stem", "en", "tag")

    def __init__(self, de, stem, en, tag):
        self.de, self.stem, self.en, self.tag = de, stem, en, tag


class Verb:
    __slots__ = ("key", "inf", "prefix", "present", "participle", "aux", "imperative",
                 "en_base", "en_3sg", "en_past", "en_particle", "frame", "obj_tags", "subj_tags")

    def __init__(self, key, prefix, present, participle, aux, imperative, en_base, en_3sg,
                 en_past, en_particle, frame, obj_tags, subj_tags):
        self.key = key
        self.inf = key.split("_")[0]
        self.prefix = None if prefix == "-" else prefix
        self.present = None if present == "-" else present.split(",")
        self.participle, self.aux = participle, aux
        self.imperative = None if imperative == "-" else imperative
        self.en_base, self.en_3sg, self.en_past = en_base, en_3sg, en_past
        self.en_particle = None if en_particle == "-" else en_particle
        self.frame = frame
        self.obj_tags = () if obj_tags == "-" else tuple(obj_tags.split(","))
        self.subj_tags = tuple(subj_tags.split(","))


def _rows(table, width):
    for line in table.strip().splitlines():
        fields = line.split("|")
        if len(fields) != width:
            raise ValueError(f"malformed lexicon row ({len(fields)} fields, want {width}): {line!r}")
        yield fields


NOUNS = [Noun(*f) for f in _rows(_NOUNS, 7)]
ADJECTIVES = [Adjective(*f) for f in _rows(_ADJECTIVES, 4)]
VERBS = [Verb(*f) for f in _rows(_VERBS, 13)]
