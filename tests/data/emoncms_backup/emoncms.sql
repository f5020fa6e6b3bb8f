-- MySQL dump 10.19
DROP TABLE IF EXISTS `feeds`;
CREATE TABLE `feeds` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` text,
  `userid` int(11) DEFAULT NULL,
  `tag` text,
  `time` int(10) unsigned DEFAULT NULL,
  `value` double DEFAULT NULL,
  `datatype` int(11) NOT NULL,
  `public` tinyint(1) DEFAULT '0',
  `size` int(11) DEFAULT NULL,
  `engine` int(11) NOT NULL DEFAULT '0',
  `processList` text,
  `unit` varchar(10) DEFAULT '',
  PRIMARY KEY (`id`)
) ENGINE=MyISAM AUTO_INCREMENT=4 DEFAULT CHARSET=utf8;
LOCK TABLES `feeds` WRITE;
INSERT INTO `feeds` VALUES (1,'house_power',1,'emontx',1714608000,255,1,0,34560,5,'','W'),(2,'house_kwh',1,'emontx',1714608000,7.2,1,0,576,5,NULL,'kWh'),(3,'cellar temp \'north\'',1,'emonth',1714606207,23.2,1,0,432,2,'','°C');
UNLOCK TABLES;
